"""gunicorn settings of the production web server, as the Dockerfile and docker-compose.yml run it:
`gunicorn -c gunicorn.conf.py 'webapp:create_app()'` (command-line options override them).

Chosen with `make bench-register` on 2 cores: 4 processes of 1, 2 or 4 threads and 3 of 8 gave
the same throughput within the noise of the machine; 2 processes per core use the cores, and 2
threads each let a process serve another request while one waits for PostgreSQL's commit or
Redis, without the contention for Python's lock that more threads bring. WEB_CONCURRENCY
(processes) and WEB_THREADS (threads per process) change them; the app reads WEB_CONCURRENCY too,
for its rate limit while Redis is down, so it is set here for the processes.
"""
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1), 8))
os.environ["WEB_CONCURRENCY"] = str(workers)
threads = int(os.environ.get("WEB_THREADS") or 2)
worker_class = "gthread"
bind = "0.0.0.0:8000"
accesslog = "-"
keepalive = 5  # seconds a browser's connection stays open between two requests
timeout = 30
