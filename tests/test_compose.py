"""docker-compose.yml and the Dockerfile. Docker cannot run on the development machines, so
this checks what can be checked without it: the file parses, has every service the README
describes, health checks, the PostgreSQL volume, start-up order, and uses real entry points."""
import re
import tomllib

import pytest
import yaml

from webapp.config import PROJECT_ROOT
from webapp.services.dispatch import BULK_QUEUE, DEFAULT_QUEUE

from .test_config import CONFIG_VARIABLES

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
APP_SERVICES = ["migrate", "web", "worker", "bulk", "beat"]  # built from the Dockerfile


def readme_services():
    """Service names in the README's table of the docker-compose section."""
    section = README.split("## Production with docker-compose", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z]+)` \|", section, re.MULTILINE))


def command(service):
    value = SERVICES[service]["command"]
    return value if isinstance(value, list) else value.split()


def test_every_service_the_readme_mentions_is_there_and_no_other():
    assert readme_services() == {"postgres", "redis", "mailpit", "migrate", "web", "worker", "bulk", "beat"}
    assert set(SERVICES) == readme_services()


def test_health_checks():
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert SERVICES["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert SERVICES["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def test_postgres_keeps_its_data_in_a_volume():
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "pgdata" in COMPOSE["volumes"]


@pytest.mark.parametrize("service", ["web", "worker", "bulk", "beat"])
def test_the_app_waits_for_healthy_services_and_the_migration(service):
    depends_on = SERVICES[service]["depends_on"]
    assert depends_on["redis"] == {"condition": "service_healthy"}
    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    if service != "beat":
        assert depends_on["postgres"] == {"condition": "service_healthy"}


def test_the_migration_runs_once_on_a_healthy_database():
    assert command("migrate") == ["emgav", "db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_app_services_share_one_production_configuration():
    environments = [SERVICES[name]["environment"] for name in APP_SERVICES]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["EMGAV_ENV"] == "production"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # compose refuses to start without it
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["SMTP_HOST"] == "${SMTP_HOST:-mailpit}"
    unknown = set(env) - set(CONFIG_VARIABLES)
    assert not unknown, f"variables webapp/config.py does not read: {unknown}"


def test_mailpit_shows_its_mailbox_on_8025():
    assert SERVICES["mailpit"]["image"].startswith("axllent/mailpit")
    assert "8025:8025" in SERVICES["mailpit"]["ports"]


def test_commands_use_the_project_entry_points():
    # The same entry points as the test fixtures' worker and gunicorn (tests/support.py).
    assert command("web")[0] == "gunicorn" and command("web")[-1] == "webapp:create_app()"
    assert command("worker")[:4] == ["celery", "-A", "tasks:celery_app", "worker"]
    assert command("bulk")[:4] == ["celery", "-A", "tasks:celery_app", "worker"]
    assert command("beat")[:4] == ["celery", "-A", "tasks:celery_app", "beat"]
    assert re.search(r"^celery_app = ", (PROJECT_ROOT / "tasks" / "__init__.py").read_text(encoding="utf-8"),
                     re.MULTILINE)
    assert PYPROJECT["project"]["scripts"]["emgav"] == "webapp.cli:cli"


def test_the_image_installs_what_the_services_run():
    extra = re.search(r"pip install -e '\.\[(\w+)\]'", DOCKERFILE).group(1)
    assert any(dep.startswith("gunicorn") for dep in PYPROJECT["project"]["optional-dependencies"][extra])
    python = re.search(r"^FROM python:(\d+)\.(\d+)", DOCKERFILE, re.MULTILINE).groups()
    assert tuple(map(int, python)) >= (3, 11)  # pyproject: requires-python >= 3.11


def test_a_worker_for_transactional_mail_and_one_for_bulk_mail():
    """A mailing never delays a confirmation: each queue has its own worker (as `make run` has)."""
    def queues(service):
        args = command(service)
        return args[args.index("-Q") + 1]

    assert (queues("worker"), queues("bulk")) == (DEFAULT_QUEUE, BULK_QUEUE)
    assert not {"-Q", "--queues"} & set(command("beat"))


def test_at_a_rush_the_web_gets_the_cpu_before_the_workers():
    """The workers weigh less than the web when the CPU is short (Docker's default weight: 1024)."""
    web = SERVICES["web"].get("cpu_shares", 1024)
    assert SERVICES["worker"]["cpu_shares"] == SERVICES["bulk"]["cpu_shares"] == web // 4
