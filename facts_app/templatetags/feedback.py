"""The thumbs up / down beside every AI output (issue 16 §2). The session page is sessions_app's,
which may not import facts_app: it loads these tags instead, as it does the What-we-know panel."""

from django import template

from facts_app.selectors import feedback_on_session, vote_context

register = template.Library()


def _votes(context, session) -> dict:
    """The session's votes, read once per request however many outputs the page shows."""
    request = getattr(context, "request", None) or context.get("request")
    if request is None or not session.ai_feedback_count:  # no one has voted: nothing to look up
        return {"mine": {}, "down": {}}
    by_session = request.__dict__.setdefault("_ai_feedback", {})
    if session.pk not in by_session:
        by_session[session.pk] = feedback_on_session(session=session, user=request.user)
    return by_session[session.pk]


@register.inclusion_tag("facts_app/partials/_vote.html", takes_context=True)
def ai_vote(context, session, kind: str, output):
    """The vote control of one output: the viewer's vote, pressed, and the down-vote mark."""
    votes = _votes(context, session)
    key = (kind, output.pk)
    return vote_context(
        session=session,
        kind=kind,
        object_id=output.pk,
        mine=votes["mine"].get(key),
        down_count=votes["down"].get(key, 0),
    )


@register.simple_tag(takes_context=True)
def ai_down_votes(context, session, kind: str, output) -> int:
    """How many people found this output not helpful (the history marks such a turn)."""
    return _votes(context, session)["down"].get((kind, output.pk), 0)
