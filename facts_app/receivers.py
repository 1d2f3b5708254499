from .services import facts_promote_from_ai
from .tasks import handoff_assess


def promote_facts_from_turn(sender, *, session, step, promotions, **kwargs) -> None:
    """An AI turn's promoted facts (invalid ones are dropped and logged by the service)."""
    if promotions:
        facts_promote_from_ai(session=session, promotions=promotions)


def queue_handoff_assessment(sender, *, session, escalation, **kwargs) -> None:
    """Sent after the escalation committed: draft the handoff assessment in the background."""
    handoff_assess.delay(escalation.pk)
