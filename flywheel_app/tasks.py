from celery import shared_task
from django.conf import settings
from django.core.cache import cache

BATCH_LOCK = "lock:flywheel_analyse_batch"


@shared_task(acks_late=True, soft_time_limit=270, time_limit=290)
def flywheel_analyse_batch() -> dict | None:
    """Periodic (every 5 minutes): analyse a batch of resolved sessions into flow proposals. Sessions
    the busy AI handed back (issue 17) are due again after their wait and taken by a later batch. One
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


@shared_task(bind=True, acks_late=True, soft_time_limit=270, time_limit=290, max_retries=5)
def flywheel_analyse_account(self, account_id: int) -> dict | None:
    """Asked for by an admin ("Analyse waiting sessions now"): one batch of their account's sessions,
    under the same claim rules as the periodic batch, one run per account at a time. Sessions the
    busy AI handed back are due again after their wait: the task runs again then (the periodic
    batch would take them too)."""
    from flywheel_app.analysis import analyse_batch

    lock = f"{BATCH_LOCK}:{account_id}"
    if not cache.add(lock, "1", timeout=290):
        return None
    try:
        result = analyse_batch(account_id=account_id, within=270)
    finally:
        cache.delete(lock)
    later = not (self.request.is_eager or self.request.called_directly)
    if result.outcomes.get("busy") and later and self.request.retries < self.max_retries:
        raise self.retry(countdown=settings.AI_BUDGET_BACKGROUND_RETRY)
    return {"claimed": result.claimed, **result.outcomes}
