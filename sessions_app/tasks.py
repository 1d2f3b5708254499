from celery import shared_task
from django.core.cache import cache

from resolutionflow.ai.client import background_work

ABANDON_LOCK = "lock:sessions_abandon_idle"


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def sessions_abandon_idle() -> int | None:
    """Periodic: mark sessions idle past SESSION_ABANDON_AFTER_HOURS as abandoned (kept for audit).
    One run at a time: `cache.add` is atomic on Redis, so an overlapping run returns at once."""
    from sessions_app.services.lifecycle import sessions_abandon_idle as abandon

    if not cache.add(ABANDON_LOCK, "1", timeout=150):
        return None
    try:
        return abandon()
    finally:
        cache.delete(ABANDON_LOCK)


RETRY_LOCK = "lock:pushes_retry_failed"


@shared_task(acks_late=True, soft_time_limit=240, time_limit=280)
def pushes_retry_failed() -> int | None:
    """Periodic: retry failed posts of resolution notes and escalation packages (SPEC §9: every
    5 minutes, 3 times). One run at a time, under a cache.add lock."""
    from sessions_app.services.ticket_pushes import pushes_retry_failed as retry

    if not cache.add(RETRY_LOCK, "1", timeout=280):
        return None
    try:
        with background_work():  # a note or package drafted here waits on no engineer
            return retry()
    finally:
        cache.delete(RETRY_LOCK)
