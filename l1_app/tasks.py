from celery import shared_task


@shared_task(acks_late=True)
def walks_abandon_stale() -> int:
    """Periodic (hourly): active walks with no step for 24 hours become abandoned (kept)."""
    from l1_app.services.walks import walks_abandon_stale as abandon

    return abandon()
