# Production-like image of Emgav: the web server (gunicorn), the Celery worker and beat all run
# from it, with different commands (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMGAV_ENV=production \
    WEB_CONCURRENCY=3

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
# Workers: WEB_CONCURRENCY (gunicorn's default; the app reads it too, for its rate limit).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "webapp:create_app()"]
