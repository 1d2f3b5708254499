from django.conf import settings


def app_context(request) -> dict:
    return {"ai_demo_mode": settings.AI_MODE == "demo"}
