"""Background work of facts_app: the handoff assessment, drafted while the escalation waits."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(
    name="facts_app.handoff_assess",
    soft_time_limit=settings.HANDOFF_ASSESSMENT_TIMEOUT,
    time_limit=settings.HANDOFF_ASSESSMENT_TIMEOUT + 10,
)
def handoff_assess(escalation_id: int) -> str:
    """Idempotent: only an assessment still pending is written."""
    from sessions_app.models import Escalation

    from .previews import handoff_assess as assess
    from .previews import handoff_assessment_unavailable

    escalation = Escalation.objects.select_related("session__account", "escalated_by").filter(pk=escalation_id).first()
    if escalation is None or escalation.assessment_status != Escalation.AssessmentStatus.PENDING:
        return "skipped"
    try:
        return assess(escalation=escalation).assessment_status
    except SoftTimeLimitExceeded:
        logger.info("Handoff assessment %s ran out of time", escalation_id)
        handoff_assessment_unavailable(escalation=escalation, error="The assessment took too long.")
        return "unavailable"
