"""ResolutionFlow settings: one module, driven by the environment (django-environ).

Nothing is required on a laptop: with no variables set the app runs on SQLite,
the local-memory cache, inline Celery tasks and the offline demo AI.
Every setting read here is documented in `.env.example`.
"""

import base64
import hashlib
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and (
    SECRET_KEY == DEV_SECRET_KEY
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value when DJANGO_DEBUG is false (the development key is refused)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "resolutionflow.accounts",
    "resolutionflow.ai",
    "resolutionflow.psa",
    "flywheel_app",
    "sessions_app",
    "facts_app",
    "l1_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "resolutionflow.middleware.DomainErrorMiddleware",
]

if not DEBUG:
    # In production the app serves its own static files (collected, hashed, compressed);
    # in development runserver and the test live server serve them from the finders.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "resolutionflow.urls"
WSGI_APPLICATION = "resolutionflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "resolutionflow.context_processors.app_context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql") and not env.bool("DB_JIT", default=False):
    # JIT compiles a query whose estimated cost passes jit_above_cost: ~20 ms spent on a query that
    # runs in 7 (the analytics aggregates over 10,000 sessions). Every query of the app is short.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["resolutionflow.accounts.backends.EmailBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# htmx comes from the npm registry (package.json), never pasted into the repo.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    # idiomorph's htmx extension: polled regions morph in place, so focus and reading position survive.
    ("vendor/idiomorph", BASE_DIR / "node_modules" / "idiomorph" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads (screenshots) are private: served only through views that check access.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "private_media")

# --- Cache and Celery: one REDIS_URL for both, or nothing for a laptop ---------
REDIS_URL = env.str("REDIS_URL", default="")


def _redis_db(url: str, offset: int) -> str:
    """The same server, database number + offset: the cache must not share the broker's database
    (clearing the cache would otherwise drop queued tasks)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) + offset
    return urlunsplit(parts._replace(path=f"/{db}"))


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "resolutionflow.cache.RedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=_redis_db(REDIS_URL, 1)),
            "TIMEOUT": 60 * 60 * 24,
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "resolutionflow",
            "TIMEOUT": 60 * 60 * 24,
        }
    }
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Background AI work (flywheel analysis, handoff assessments) has its own queue and worker
# (docker-compose `worker-background`, `celery worker -Q background`), so a backlog never sits in
# front of the default queue's tasks; its AI calls use the accounts' background budget.
CELERY_TASK_ROUTES = {
    "flywheel_app.tasks.flywheel_analyse_batch": {"queue": "background"},
    "flywheel_app.tasks.flywheel_analyse_account": {"queue": "background"},
    "facts_app.handoff_assess": {"queue": "background"},
}
# A static schedule: beat runs exactly one instance (docker-compose `beat`).
CELERY_BEAT_SCHEDULE = {
    "sessions-abandon-idle": {
        "task": "sessions_app.tasks.sessions_abandon_idle",
        "schedule": 60 * 15,
    },
    "sessions-retry-failed-pushes": {
        "task": "sessions_app.tasks.pushes_retry_failed",
        "schedule": 60 * 5,
    },
    "flywheel-analyse-batch": {
        "task": "flywheel_app.tasks.flywheel_analyse_batch",
        "schedule": 60 * 5,
    },
    "l1-walks-retry-failed-pushes": {
        "task": "l1_app.tasks.walk_pushes_retry_failed",
        "schedule": 60 * 5,
    },
    "l1-walks-abandon-stale": {
        "task": "l1_app.tasks.walks_abandon_stale",
        "schedule": 60 * 60,
    },
    "notifications-prune": {
        "task": "resolutionflow.accounts.tasks.notifications_prune",
        "schedule": 60 * 60 * 24,
    },
}

# Every request reads the login session from the cache (Redis in production) and falls back to the
# database; writes go to both, so flushing the cache logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Engineer sessions with no activity for this long are marked abandoned by a periodic task.
SESSION_ABANDON_AFTER_HOURS = env.int("SESSION_ABANDON_AFTER_HOURS", default=48)
# How long the handoff assessment may take before the handoff screen says "unavailable" (seconds).
HANDOFF_ASSESSMENT_TIMEOUT = env.int("HANDOFF_ASSESSMENT_TIMEOUT", default=45)
# How often pages poll (seconds): the notification bell, and the escalation queue (a poll that
# finds nothing new costs at most two queries and swaps nothing).
NOTIFICATION_POLL_SECONDS = env.int("NOTIFICATION_POLL_SECONDS", default=30)
QUEUE_POLL_SECONDS = env.int("QUEUE_POLL_SECONDS", default=5)

# --- The knowledge flywheel --------------------------------------------------------------
# Resolved sessions analysed per batch (every 5 minutes), new proposals per account per day (the
# rest wait for the next day), analysis attempts before a session stays failed, and how long a
# claimed session may stay "processing" before another worker takes it back (a killed worker).
FLYWHEEL_BATCH_SIZE = env.int("FLYWHEEL_BATCH_SIZE", default=20)
FLYWHEEL_PROPOSALS_PER_DAY = env.int("FLYWHEEL_PROPOSALS_PER_DAY", default=50)
FLYWHEEL_MAX_ATTEMPTS = env.int("FLYWHEEL_MAX_ATTEMPTS", default=3)
FLYWHEEL_CLAIM_TIMEOUT = env.int("FLYWHEEL_CLAIM_TIMEOUT", default=600)

# --- Knowledge gaps (SPEC §8; flywheel_app/analytics/gaps.py) -------------------------------
# Weak options: a flow question escaped (free text or skip) at least this often, in at least this
# share of its visits; high at the second share.
GAP_WEAK_OPTION_MIN_ESCAPES = env.int("GAP_WEAK_OPTION_MIN_ESCAPES", default=3)
GAP_WEAK_OPTION_RATE = env.float("GAP_WEAK_OPTION_RATE", default=0.25)
GAP_WEAK_OPTION_HIGH_RATE = env.float("GAP_WEAK_OPTION_HIGH_RATE", default=0.5)
# High escalation: a domain or flow with at least this many finished sessions and walks, escalated
# at least at this rate; high at the second rate.
GAP_ESCALATION_MIN_VOLUME = env.int("GAP_ESCALATION_MIN_VOLUME", default=5)
GAP_ESCALATION_RATE = env.float("GAP_ESCALATION_RATE", default=0.3)
GAP_ESCALATION_HIGH_RATE = env.float("GAP_ESCALATION_HIGH_RATE", default=0.5)
# Uncharted territory: resolved discovery-tier sessions without a flow, per domain; high at the second.
GAP_UNCHARTED_MIN = env.int("GAP_UNCHARTED_MIN", default=3)
GAP_UNCHARTED_HIGH = env.int("GAP_UNCHARTED_HIGH", default=10)
# Repeated pattern: sessions without a flow sharing at least GAP_REPEATED_SHARED normalised
# keywords or symptoms; at least GAP_REPEATED_MIN of them, high at GAP_REPEATED_HIGH.
GAP_REPEATED_MIN = env.int("GAP_REPEATED_MIN", default=3)
GAP_REPEATED_HIGH = env.int("GAP_REPEATED_HIGH", default=10)
GAP_REPEATED_SHARED = env.int("GAP_REPEATED_SHARED", default=2)

# --- E-mail (notifications are also e-mailed when a backend is configured) -----
# EMAIL_URL such as smtp://user:pass@host:587 or smtp+tls://...; unset: no e-mail, in-app only.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    NOTIFICATION_EMAILS = True
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "private_media" / "mail"))
    NOTIFICATION_EMAILS = env.bool("NOTIFICATION_EMAILS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ResolutionFlow <noreply@localhost>")

# --- The AI ------------------------------------------------------------------
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
# Only for pointing the SDK somewhere else (the project's fake Messages API in tests).
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
AI_MODE = "anthropic" if ANTHROPIC_API_KEY else "demo"
AI_MODEL_FAST = env.str("AI_MODEL_FAST", default="claude-haiku-5-5")
AI_MODEL_STRONG = env.str("AI_MODEL_STRONG", default="claude-sonnet-5-5")
AI_REQUEST_TIMEOUT = env.float("AI_REQUEST_TIMEOUT", default=60.0)
AI_DEADLINE = env.float("AI_DEADLINE", default=90.0)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=2)
# Fair use of the provider across accounts (resolutionflow/ai/budget.py): per account, concurrent
# calls and calls per minute, live ("interactive": a turn, a preview, an L1 node) and background
# (flywheel analysis, handoff assessments) counted apart, so background work cannot take the live share.
AI_BUDGET_INTERACTIVE_CONCURRENCY = env.int("AI_BUDGET_INTERACTIVE_CONCURRENCY", default=6)
AI_BUDGET_INTERACTIVE_PER_MINUTE = env.int("AI_BUDGET_INTERACTIVE_PER_MINUTE", default=120)
AI_BUDGET_BACKGROUND_CONCURRENCY = env.int("AI_BUDGET_BACKGROUND_CONCURRENCY", default=2)
AI_BUDGET_BACKGROUND_PER_MINUTE = env.int("AI_BUDGET_BACKGROUND_PER_MINUTE", default=30)
# Per-account overrides by account slug (JSON), e.g. {"bigcorp": {"interactive_concurrency": 20}}.
AI_BUDGET_OVERRIDES = env.json("AI_BUDGET_OVERRIDES", default={})
# How long a live call waits for its account's slot before the page is told to retry (seconds).
AI_BUDGET_WAIT = env.float("AI_BUDGET_WAIT", default=10.0)
# A slot's lease: a worker that dies holding one frees it after this many seconds. A call never
# outlives AI_DEADLINE, so the default is the deadline plus a margin.
AI_BUDGET_LEASE_SECONDS = env.float("AI_BUDGET_LEASE_SECONDS", default=AI_DEADLINE + 15)
# A background call waits at most this long (seconds) for its slot, then its task retries later.
AI_BUDGET_BACKGROUND_WAIT = env.float("AI_BUDGET_BACKGROUND_WAIT", default=5.0)
# A background task told to wait tries again after at least this many seconds.
AI_BUDGET_BACKGROUND_RETRY = env.float("AI_BUDGET_BACKGROUND_RETRY", default=30.0)
# After a 429/529 that names no retry-after, the caller is told to try again in this many seconds.
# A provider's retry-after pauses every worker; one longer than AI_PROVIDER_MAX_INLINE_WAIT ends
# the SDK's retries and the caller is told to wait instead.
AI_PROVIDER_PAUSE_DEFAULT = env.float("AI_PROVIDER_PAUSE_DEFAULT", default=5.0)
AI_PROVIDER_MAX_INLINE_WAIT = env.float("AI_PROVIDER_MAX_INLINE_WAIT", default=5.0)
# A provider's retry-after above this (seconds) counts as this: one broken header must not pause
# every account for hours.
AI_PROVIDER_MAX_PAUSE = env.float("AI_PROVIDER_MAX_PAUSE", default=60.0)
# US dollars per million tokens, per model.
AI_PRICES = {
    "claude-haiku-5-5": {
        "input": Decimal("1.00"),
        "output": Decimal("5.00"),
        "cache_read": Decimal("0.10"),
        "cache_write": Decimal("1.25"),
    },
    "claude-sonnet-5-5": {
        "input": Decimal("3.00"),
        "output": Decimal("15.00"),
        "cache_read": Decimal("0.30"),
        "cache_write": Decimal("3.75"),
    },
}

# --- PSA: ConnectWise Manage ------------------------------------------------------
# Fernet keys (comma-separated) that encrypt each account's PSA private key at rest. The first
# encrypts; every key decrypts, so keys rotate: put the new key first, run
# `manage.py psa_rotate_keys`, then drop the old one. Required when DJANGO_DEBUG is false; in
# development a key derived from SECRET_KEY is used.
PSA_ENCRYPTION_KEYS = env.list("PSA_ENCRYPTION_KEYS", default=[])
if not PSA_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "PSA_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is false (a Fernet key: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
        )
    PSA_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(b"psa-fernet:" + SECRET_KEY.encode()).digest()).decode()
    ]
# The integration's client id (developer.connectwise.com), one for the whole server.
CONNECTWISE_CLIENT_ID = env.str("CONNECTWISE_CLIENT_ID", default="")
# Hosts reached over plain http instead of https, and the only sites allowed on a loopback or
# private address: only the local fake ConnectWise.
CONNECTWISE_HTTP_HOSTS = env.list("CONNECTWISE_HTTP_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
# Seconds: one HTTP request to ConnectWise; and the most a 429's Retry-After is waited, and how often.
CONNECTWISE_TIMEOUT = env.float("CONNECTWISE_TIMEOUT", default=15.0)
CONNECTWISE_MAX_RETRY_WAIT = env.float("CONNECTWISE_MAX_RETRY_WAIT", default=10.0)
CONNECTWISE_MAX_RETRIES = env.int("CONNECTWISE_MAX_RETRIES", default=2)

# --- Security (production: DJANGO_DEBUG=false) --------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # The SDK's debug logs would print request headers.
        "anthropic": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}
