from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def walks_abandon_stale() -> int:
    """Periodic (hourly): active walks with no step for 24 hours become abandoned (kept). One UPDATE:
    idempotent, so two runs at once (a redelivery) change nothing twice."""
    from l1_app.services.walks import walks_abandon_stale as abandon

    return abandon()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def walk_push_attempt(push_id: int) -> str:
    """Post a finished walk's transcript to its PSA ticket (idempotent: a posted push is left)."""
    from l1_app.services.walk_pushes import walk_push_attempt as attempt

    return attempt(push_id=push_id).status


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def walk_pushes_retry_failed() -> int:
    """Periodic (every 5 minutes): failed walk posts, retried 3 times."""
    from l1_app.services.walk_pushes import walk_pushes_retry_failed as retry

    return retry()
