"""A session's running token and cost totals (SPEC §2, §10): every AI call made for the session —
turns, classification, fact drafts, previews, script drafts, failed attempts included (they were
paid for) — adds to them as it is recorded (`resolutionflow.ai.signals.usage_recorded`). Added
with F() expressions, never re-summed from the usage table, so concurrent calls cannot lose an
increment; added outside the caller's transaction, so a write that is refused later keeps them."""

from django.db.models import F

from resolutionflow.ai.client import usage_totals
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession
from sessions_app.services.state import session_page_changed


def session_add_usage(*, session_id: int, calls: list[AIUsage]) -> None:
    """Add `calls` to the session's totals. The page shows them: its cached body is redrawn."""
    if not calls:
        return
    AISession.objects.filter(pk=session_id).update(
        **{name: F(name) + value for name, value in usage_totals(calls).items()}
    )
    session_page_changed(session_id=session_id)


def usage_recorded_for_session(sender, *, usage: AIUsage, **kwargs) -> None:
    """Receiver of the AI door's `usage_recorded`: a call made for a session counts toward it."""
    if usage.subject_type == "session" and usage.subject_id is not None:
        session_add_usage(session_id=usage.subject_id, calls=[usage])
