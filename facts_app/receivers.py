def promote_facts_from_turn(sender, *, session, step, promotions, **kwargs) -> None:
    """An AI turn's promoted facts (invalid ones are dropped and logged by the service)."""
    if promotions:
        from .services import facts_promote_from_ai

        facts_promote_from_ai(session=session, promotions=promotions)


def queue_handoff_assessment(sender, *, session, escalation, **kwargs) -> None:
    """Sent after the escalation committed: draft the handoff assessment in the background."""
    from .tasks import handoff_assess

    handoff_assess.delay(escalation.pk)
