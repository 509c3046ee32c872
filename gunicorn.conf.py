"""gunicorn settings of the production web server, as the Dockerfile and docker-compose.yml run it:
`gunicorn -c gunicorn.conf.py 'webapp:create_app()'` (command-line options override them).

Chosen with `make bench-register` on 2 cores: 4 processes of 1, 2 or 4 threads and 3 of 8 gave
the same throughput within the noise of the machine; 2 processes per core use the cores, and 2
threads each let a process serve another request while one waits for PostgreSQL's commit or
Redis, without the contention for Python's lock that more threads bring. With the connection
limit below, 2 to 4 processes of 1 or 2 threads confirmed addresses at the same rate, and more
requests in flight (4 processes of 4 threads, 6 of 2, 8 of 1) 10 % slower: they queue for an
event's seat lock. WEB_CONCURRENCY (processes) and WEB_THREADS (threads per process) change
them; the app reads WEB_CONCURRENCY too, for its rate limit while Redis is down, so it is set
here for the processes.

Each process takes at most 2 connections per thread: one being served and one waiting. With
gunicorn's default (1,000), a busy process keeps accepting connections it cannot serve yet while
another process idles, and the slowest answers wait for that: at 32 connections, the 99th
percentile was 1.5 to 2 times the one with this limit, for the same throughput. The connections
beyond it wait in the kernel's queue for the first free process. It also allows each process
only as many idle kept-alive connections as it has threads. With this limit as with the default,
a client that connects and sends nothing holds a thread for 5 seconds, then its place for
`keepalive` seconds more: the server belongs behind a reverse proxy that buffers requests (nginx
does by default), as the README says.
"""
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1), 8))
os.environ["WEB_CONCURRENCY"] = str(workers)
threads = int(os.environ.get("WEB_THREADS") or 2)
worker_class = "gthread"
worker_connections = 2 * threads
bind = "0.0.0.0:8000"
accesslog = "-"
keepalive = 5  # seconds a browser's connection stays open between two requests
timeout = 30
