"""Background work of facts_app: the handoff assessment, drafted while the escalation waits."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from resolutionflow.ai.errors import AIError

logger = logging.getLogger(__name__)
HANDOFF_BUSY_RETRIES = 10


@shared_task(
    bind=True,
    name="facts_app.handoff_assess",
    soft_time_limit=settings.HANDOFF_ASSESSMENT_TIMEOUT,
    time_limit=settings.HANDOFF_ASSESSMENT_TIMEOUT + 10,
    max_retries=HANDOFF_BUSY_RETRIES,
)
def handoff_assess(self, escalation_id: int) -> str:
    """Idempotent: only an assessment still pending is written. When the AI is busy (the account's
    background share, or the provider's pause) it stays pending and the task runs again after the
    wait it was given; after HANDOFF_BUSY_RETRIES it is unavailable (the screen offers a retry)."""
    from sessions_app.models import Escalation

    from .previews import handoff_assess as assess
    from .previews import handoff_assessment_unavailable

    escalation = Escalation.objects.select_related("session__account", "escalated_by").filter(pk=escalation_id).first()
    if escalation is None or escalation.assessment_status != Escalation.AssessmentStatus.PENDING:
        return "skipped"
    try:
        return assess(escalation=escalation).assessment_status
    except AIError as busy:  # only 'busy' comes out of a background assessment
        # Run in the request (no worker: a laptop) there is no later: the screen offers the retry.
        if self.request.is_eager or self.request.called_directly or self.request.retries >= HANDOFF_BUSY_RETRIES:
            handoff_assessment_unavailable(escalation=escalation, error=AIError.MESSAGES["busy"])
            return "unavailable"
        raise self.retry(countdown=busy.retry_after or settings.AI_BUDGET_BACKGROUND_RETRY) from None
    except SoftTimeLimitExceeded:
        logger.info("Handoff assessment %s ran out of time", escalation_id)
        handoff_assessment_unavailable(escalation=escalation, error="The assessment took too long.")
        return "unavailable"
