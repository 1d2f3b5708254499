from celery import shared_task
from django.core.cache import cache

BATCH_LOCK = "lock:flywheel_analyse_batch"


@shared_task(acks_late=True, soft_time_limit=270, time_limit=290)
def flywheel_analyse_batch() -> dict | None:
    """Periodic (every 5 minutes): analyse a batch of resolved sessions into flow proposals. One
    batch at a time under a cache.add lock (atomic on Redis); the sessions themselves are claimed
    with skip_locked, so even two overlapping batches never analyse one session twice."""
    from flywheel_app.analysis import analyse_batch

    if not cache.add(BATCH_LOCK, "1", timeout=290):
        return None
    try:
        result = analyse_batch(within=270)
        return {"claimed": result.claimed, **result.outcomes}
    finally:
        cache.delete(BATCH_LOCK)


@shared_task(acks_late=True, soft_time_limit=270, time_limit=290)
def flywheel_analyse_account(account_id: int) -> dict | None:
    """Asked for by an admin ("Analyse waiting sessions now"): one batch of their account's sessions,
    under the same claim rules as the periodic batch, one run per account at a time."""
    from flywheel_app.analysis import analyse_batch

    lock = f"{BATCH_LOCK}:{account_id}"
    if not cache.add(lock, "1", timeout=290):
        return None
    try:
        result = analyse_batch(account_id=account_id, within=270)
        return {"claimed": result.claimed, **result.outcomes}
    finally:
        cache.delete(lock)
