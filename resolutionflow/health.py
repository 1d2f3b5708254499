"""/healthz: the state of each backing service, as JSON. 200 when all are up, 503 otherwise."""

import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from resolutionflow.ai import budget


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "engine": connection.vendor}


def _check_cache() -> dict:
    key = f"healthz:{time.monotonic_ns()}"
    cache.set(key, "1", timeout=5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return {"ok": ok, "backend": backend}


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "backend": "inline (tasks run in the request)"}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return {"ok": bool(client.ping()), "backend": "redis"}
    finally:
        client.close()


def _check_ai() -> dict:
    """The AI mode, and whether the provider is throttling us (a 429/529 retry-after every worker is
    sitting out). Throttling is reported, not a failure: the app keeps working, calls wait."""
    try:
        paused = budget.provider_paused_for()
    except Exception as exc:  # the budget lives in the cache: a cache failure is reported there
        return {"ok": True, "mode": settings.AI_MODE, "provider_throttling": None, "error": exc.__class__.__name__}
    return {
        "ok": True,
        "mode": settings.AI_MODE,
        "provider_throttling": paused > 0,
        "throttled_for_s": round(paused, 1),
    }


@never_cache
@require_GET
def healthz(request):
    checks = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure of a backing service is a "down", not a crash
            checks[name] = {"ok": False, "error": exc.__class__.__name__}
    checks["ai"] = _check_ai()
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
