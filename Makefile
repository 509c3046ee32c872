# Emgav: `make run` starts the whole service locally, `make test` runs the test suite
# (`make test-fast` its quick part), `make lint` checks the code with ruff.
# They create the virtual environment .venv/ first (and update it when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install: re-install when pyproject.toml is newer.
INSTALLED := $(VENV)/.installed
TRANSLATIONS := webapp/translations
FRENCH := $(TRANSLATIONS)/fr/LC_MESSAGES/messages.po
# Extracts every wrapped string of the sources (babel.cfg) into the .pot file named after it.
EXTRACT := $(BIN)/pybabel -q extract -F babel.cfg -k _l -k N_ --project=Emgav -o

.PHONY: run test test-fast fuzz bench bench-register bench-mailing lint venv translations translations-update translations-fr clean

run: venv translations
	$(BIN)/emgav db upgrade
	$(BIN)/emgav seed-demo
	$(BIN)/emgav dev

# The suite runs in TEST_PROCESSES pytest processes (pytest-xdist), each with its own Redis, SMTP
# server and databases: most tests wait on the workers, servers and browsers they start, so two
# processes keep 2 cores busy. TEST_PROCESSES=0 runs it in one process.
TEST_PROCESSES ?= 2

test: venv translations
	@command -v redis-server >/dev/null || { \
	  echo "The tests start their own Redis: install redis-server first (sudo apt-get install redis-server)."; \
	  exit 1; }
	$(BIN)/pytest -n $(TEST_PROCESSES) --durations=15 $(PYTEST_ARGS)

# The tests not marked slow (see tests/conftest.py): no worker, gunicorn, browser or PostgreSQL.
test-fast:
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow" $(PYTEST_ARGS)'

# The fuzz suite at full size: FUZZ_CASES generated requests to every route of the app, hostile
# input of every kind (tests/test_fuzz.py; `make test` runs a small part with a fixed seed), on
# SQLite, then on PostgreSQL (FUZZ_DATABASES). Hypothesis prints how many cases each test ran, and
# the seed of a failure.
FUZZ_CASES ?= 10000
FUZZ_DATABASES ?= sqlite postgresql
fuzz:
	@for database in $(FUZZ_DATABASES); do \
	  echo "== fuzz suite on $$database"; \
	  EMGAV_TEST_DATABASE=$$database EMGAV_FUZZ_CASES=$(FUZZ_CASES) $(MAKE) --no-print-directory test \
	    TEST_PROCESSES=0 PYTEST_ARGS='tests/test_fuzz.py --timeout=0 --hypothesis-show-statistics $(PYTEST_ARGS)' || exit 1; \
	done

# Benchmarks, figures printed: the registration list with 5,000 registrations (also in the suite, for
# its bound on SQL statements): render time and SQL statements per page; the dashboards on 20 events
# × 2,000 registrations (here only; SQLite, and PostgreSQL when it is reachable): time, SQL statements
# and ratio to a plain count of the same rows.
bench: venv translations
	EMGAV_BENCH=1 $(BIN)/pytest -q -s tests/test_organiser_registrations.py tests/test_organiser_dashboards.py \
	  -k "5000_registrations or 2000_registrations" $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory bench-mailing

# A mailing to EMGAV_BENCH_RECIPIENTS people (default 10,000) through the real pipeline (Redis, the bulk
# worker as `make run` starts it) to a local SMTP sink, against a bare smtplib loop sending as many
# comparable messages to the same sink: both rates, their ratio, the worker's peak memory, the time to
# the first mail (tests/test_mail_bench.py). EMGAV_BENCH_DATABASE=postgresql runs it on PostgreSQL.
bench-mailing: venv translations
	EMGAV_BENCH=1 $(BIN)/pytest -q -s tests/test_mail_bench.py $(PYTEST_ARGS)

# The public registration path under load (PostgreSQL at 127.0.0.1:5432, gunicorn with gunicorn.conf.py,
# the Celery workers as docker-compose runs them, a local SMTP sink), against a bare baseline app in the
# same run (tests/bench/): requests/s, p50/p99 and errors of the registration POST, the confirmation link
# and the event page, the ratio of medians, and the time from the POST to the « confirm your address »
# mail. BENCH_SECONDS (10 per round), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_WORKER_NICE (6).
bench-register: venv translations
	$(BIN)/python -m tests.bench.register

lint: venv
	$(BIN)/ruff check .

venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Emgav needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 | head -n 1)."; \
	  echo "Install it (sudo apt-get install python3) or choose one: make PYTHON=python3.12 ..."; \
	  exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  echo "Could not create the virtual environment: install venv support (sudo apt-get install python3-venv)."; \
	  exit 1; }
	$(BIN)/python -m pip install -e '.[dev,test]'
	@touch $@

# Compile the message catalogues (webapp/translations/<lang>/LC_MESSAGES/messages.po) when there are any.
translations: venv
	@if ls $(TRANSLATIONS)/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel compile -d $(TRANSLATIONS); \
	fi

# After adding or changing wrapped strings: extract them all (babel.cfg) and update the catalogues;
# new strings come in untranslated in English (tests/test_translations.py fails until they are
# translated), and the French catalogue is generated again (as by translations-fr).
translations-update: venv
	@pot=$$(mktemp --suffix=.pot) && \
	  $(EXTRACT) $$pot . && \
	  $(BIN)/pybabel update -i $$pot -d $(TRANSLATIONS) -l en --no-fuzzy-matching --ignore-obsolete && \
	  $(BIN)/python -m webapp.typography $$pot $(FRENCH); \
	  status=$$?; rm -f $$pot; exit $$status

# Only the French catalogue, GENERATED from the sources: each message is its msgid with French
# typography (no-break spaces, typographic apostrophe; webapp/typography.py). Run it after adding
# or changing wrapped strings (tests/test_typography.py fails until then).
translations-fr: venv
	@pot=$$(mktemp --suffix=.pot) && \
	  $(EXTRACT) $$pot . && \
	  $(BIN)/python -m webapp.typography $$pot $(FRENCH); \
	  status=$$?; rm -f $$pot; exit $$status

# Removes what the commands above generate; instance/ (local database, mails) is kept.
clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find $(TRANSLATIONS) -name '*.mo' -delete 2>/dev/null || true
