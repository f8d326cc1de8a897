# syntax=docker/dockerfile:1
# Production image: the web server (granian, chosen by measurement: docs/performance.md) by default; the same image runs the Celery worker and
# beat (see compose.yaml). Build: docker build -t flashsale .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compile wheels that need headers (mysqlclient) into a virtualenv --------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# --- messages: the translation catalogs compiled (gettext's msgfmt; .mo files are not in git) ---
FROM builder AS messages
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
# Only the project's own locale/ (the venv is in /opt, outside the walk). The settings need a SECRET_KEY
# to import: a throwaway one, used for nothing else.
RUN SECRET_KEY=compilemessages-only-not-a-secret DEBUG=false \
    python manage.py compilemessages --ignore=.venv -v 0

# --- runtime: only the MariaDB client library, no compiler ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PORT=8000
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code stays root-owned (read-only for the app user); only var/ is writable.
COPY . /app
COPY --from=messages /src/locale /app/locale
RUN mkdir -p /app/var && chown app:app /app/var
# Static files are collected at build time (served by whitenoise). The settings need a
# SECRET_KEY to import: a throwaway one, used for nothing else and not kept in the image.
RUN SECRET_KEY=collectstatic-only-not-a-secret DEBUG=false \
    python manage.py collectstatic --noinput -v 0

USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/scripts/healthcheck.py", "web"]
# Port from PORT (default 8000); WEB_WORKERS processes (default 4: two per core measured best) of WEB_THREADS threads;
# more flags can come from granian's GRANIAN_* environment variables.
CMD ["sh", "-c", "exec granian --interface wsgi --host 0.0.0.0 --port ${PORT:-8000} --workers ${WEB_WORKERS:-4} --blocking-threads ${WEB_THREADS:-1} --no-ws --respawn-failed-workers --access-log config.wsgi:application"]
