# Production-like image of Emgav: the web server (gunicorn), the Celery worker and beat all run
# from it, with different commands (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMGAV_ENV=production

WORKDIR /app
COPY . .
# Editable install: migrations/ and email_templates/ are read from /app.
RUN pip install -e '.[server]' \
    && if ls webapp/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
         pybabel compile -d webapp/translations; \
       fi \
    && useradd --system --create-home --home-dir /home/emgav emgav \
    && mkdir -p /app/instance && chown emgav /app/instance
USER emgav

EXPOSE 8000
# Processes and threads: gunicorn.conf.py (WEB_CONCURRENCY, WEB_THREADS).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "webapp:create_app()"]
