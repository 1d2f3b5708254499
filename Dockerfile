# syntax=docker/dockerfile:1
# One image for web, worker and beat (docker-compose.yml picks the command).

# --- htmx comes from the npm registry (package.json); only node_modules leaves this stage, without
#     the devDependencies (axe-core is a test tool) ---
FROM node:22-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- the application ---
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=resolutionflow.settings
WORKDIR /app

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --no-create-home app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=assets /build/node_modules ./node_modules
COPY . .

# Collected (hashed and compressed by whitenoise) at build time, under production settings.
# The keys only satisfy the settings check for this one command; they are not kept in the image.
RUN DJANGO_DEBUG=false \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    PSA_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput -v0

# Uploads and beat's schedule file are the only places the app writes; both are volumes.
RUN mkdir -p /app/private_media /app/var && chown app:app /app/private_media /app/var

USER app
EXPOSE 8000
# The web process (docker-compose.yml runs migrate first; worker and beat override the command).
CMD ["gunicorn", "resolutionflow.wsgi", "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
