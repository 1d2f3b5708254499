"""A session's running token and cost totals (SPEC §2, §10): every AI call made for the session
adds to them, failed attempts included (they were paid for). Added with F() expressions, never
re-summed from the usage table, so concurrent turns cannot lose an increment."""

from django.db.models import F

from resolutionflow.ai.client import usage_totals
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession


def session_usage_increments(calls: list[AIUsage]) -> dict:
    """The F() updates that add `calls` to a session's totals (empty when nothing was called)."""
    if not calls:
        return {}
    return {name: F(name) + value for name, value in usage_totals(calls).items()}


def session_add_usage(*, session: AISession, calls: list[AIUsage]) -> None:
    """Add `calls` to the session's totals in the database and on `session` itself."""
    increments = session_usage_increments(calls)
    if not increments:
        return
    AISession.objects.filter(pk=session.pk).update(**increments)
    for name, value in usage_totals(calls).items():
        setattr(session, name, getattr(session, name) + value)
