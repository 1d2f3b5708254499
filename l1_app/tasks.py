from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def walks_abandon_stale() -> int:
    """Periodic (hourly): active walks with no step for 24 hours become abandoned (kept). One UPDATE:
    idempotent, so two runs at once (a redelivery) change nothing twice."""
    from l1_app.services.walks import walks_abandon_stale as abandon

    return abandon()
