from django.conf import settings


def app_context(request) -> dict:
    return {
        "ai_demo_mode": settings.AI_MODE == "demo",
        "poll_seconds": {"bell": settings.NOTIFICATION_POLL_SECONDS, "queue": settings.QUEUE_POLL_SECONDS},
    }
