from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def sessions_abandon_idle() -> int:
    """Periodic: mark sessions idle past SESSION_ABANDON_AFTER_HOURS as abandoned (kept for audit)."""
    from .services import sessions_abandon_idle as abandon

    return abandon()
