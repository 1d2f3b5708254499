"""/healthz: one JSON answer on the state of the database, the cache, the broker and the AI."""

import socket

import pytest
from django.conf import settings
from django.urls import reverse

from resolutionflow.ai import budget

pytestmark = pytest.mark.django_db

SECRET_IN_URL = "redis-password-must-not-leak"


@pytest.fixture
def redis_down(settings):
    """Cache and broker pointed at a closed port on 127.0.0.1 (with a password in the URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The socket is closed: nothing listens there, so connecting is refused at once.
    url = f"redis://:{SECRET_IN_URL}@127.0.0.1:{port}/0"
    # Django's setting_changed handler closes and rebuilds the cache handlers for CACHES.
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
        },
    }
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return url


def test_healthz_is_ok_when_every_service_is_up(client):
    # The suite runs on the production stack: real PostgreSQL and Redis (make test).
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CACHES["default"]["BACKEND"] == "resolutionflow.cache.RedisCache"  # Django's, reusing clients

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"ok": True, "engine": "postgresql"},
        "cache": {"ok": True, "backend": "RedisCache"},
        "broker": {"ok": True, "backend": "redis"},
        "ai": {"ok": True, "mode": settings.AI_MODE, "provider_throttling": False, "throttled_for_s": 0.0},
    }


def test_healthz_reports_when_the_provider_is_throttling(client):
    """A 429/529 retry-after that every worker sits out is shown (and is no outage: still 200)."""
    budget.provider_pause(30)

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    ai = response.json()["checks"]["ai"]
    assert ai["provider_throttling"] is True and 29 <= ai["throttled_for_s"] <= 30


def test_healthz_answers_503_and_names_the_failed_checks_when_redis_is_down(client, redis_down):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert checks["cache"] == {"ok": False, "error": "ConnectionError"}
    assert checks["broker"] == {"ok": False, "error": "ConnectionError"}
    assert checks["ai"]["ok"] is True


def test_healthz_never_shows_secrets(client, redis_down, settings):
    settings.ANTHROPIC_API_KEY = "sk-ant-test-key-must-not-leak"

    text = client.get(reverse("healthz")).content.decode()

    database_password = settings.DATABASES["default"].get("PASSWORD")
    for secret in (SECRET_IN_URL, "127.0.0.1", settings.SECRET_KEY, settings.ANTHROPIC_API_KEY, database_password):
        if secret:
            assert secret not in text


def test_healthz_only_answers_get(client):
    assert client.post(reverse("healthz")).status_code == 405
