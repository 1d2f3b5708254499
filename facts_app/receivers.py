def promote_facts_from_turn(sender, *, session, step, promotions, **kwargs) -> None:
    """An AI turn's promoted facts (invalid ones are dropped and logged by the service)."""
    if promotions:
        from .services import facts_promote_from_ai

        facts_promote_from_ai(session=session, promotions=promotions)
