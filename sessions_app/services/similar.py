""" "Solved before" (issue 16): the resolved sessions most like a new one, found once at intake and
again when a ticket is linked, kept on the session, given to the AI as hints, dismissible.

The search document of a resolved session is a stored column (`AISession.search_vector`, GIN
indexed) written here, by the service, when the session resolves — not by a database trigger: what
goes into it spans two apps (the session's own fields and its live facts, which facts_app owns),
a resolved session is final (its fields and facts no longer change: every write to them is guarded
to open sessions), and a service keeps the rule in Python, testable, and a no-op on SQLite."""

from collections.abc import Iterable

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from sessions_app import prompts
from sessions_app.models import AISession
from sessions_app.selectors import similar_resolved_sessions
from sessions_app.services.guards import OPEN, session_lock
from sessions_app.services.state import session_bump_state_version


def search_document(session_model=AISession):
    """The weighted document of a resolved session, as an expression over its row: summary (A),
    key symptoms (B), its live facts and resolution (C), what was changed (D). The facts are read
    through the session's reverse relation (sessions_app does not import facts_app)."""
    fact_model = session_model._meta.get_field("facts").related_model
    facts = (
        fact_model.objects.filter(session=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("session")
        .annotate(text=StringAgg("text", delimiter=" "))
        .values("text")
    )
    return (
        SearchVector("problem_summary", weight="A", config="english")
        + SearchVector(Cast("key_symptoms", TextField()), weight="B", config="english")
        + SearchVector(
            Coalesce(Subquery(facts), Value("", output_field=TextField()), output_field=TextField()),
            weight="C",
            config="english",
        )
        + SearchVector("resolution_summary", weight="C", config="english")
        + SearchVector("resolution_action", weight="D", config="english")
    )


def sessions_search_index(*, session_ids: Iterable[int] | None = None, account_id: int | None = None) -> int:
    """Write the search document of resolved sessions (the given ones, an account's, or all): on
    resolve, and after a bulk load (the demo history, the benchmark). One UPDATE; PostgreSQL only."""
    if connection.vendor != "postgresql":
        return 0
    resolved = AISession.objects.filter(status=AISession.Status.RESOLVED)
    if session_ids is not None:
        resolved = resolved.filter(pk__in=list(session_ids))
    if account_id is not None:
        resolved = resolved.filter(account_id=account_id)
    return resolved.update(search_vector=search_document())


def similar_query_text(*, intake: str, summary: str, key_symptoms: list, ticket_context: dict | None = None) -> str:
    """What a session is searched by: its triage summary and symptoms, the linked ticket's title,
    summary and description, and its intake."""
    ticket = ticket_context or {}
    # The most telling words first: the candidates are found by the first words (selectors).
    parts = [summary, *[str(s) for s in key_symptoms or []]]
    parts += [str(ticket.get(k) or "") for k in ("title", "summary", "description")]
    return " ".join(p for p in [*parts, intake] if p)[:4000]


def session_similar_for_ticket(*, session: AISession, ticket_context: dict | None) -> str:
    """Inside the link-ticket write (the session locked by the caller): look again with the ticket's
    words and keep the result on `session` (the caller saves `SIMILAR_FIELDS`). A changed set shows
    again, even if the earlier one was dismissed. Returns the message telling the AI about sessions
    it has not been given yet ("" when none)."""
    before = {h["id"] for h in session.similar_sessions or []}
    hints = similar_resolved_sessions(
        account_id=session.account_id,
        text=similar_query_text(
            intake=session.intake_content,
            summary=session.problem_summary,
            key_symptoms=session.key_symptoms,
            ticket_context=ticket_context,
        ),
        # The ticket's own one-line title, when it has one: what the link adds to the picture.
        summary=str((ticket_context or {}).get("title") or (ticket_context or {}).get("summary") or "")
        or session.problem_summary,
        exclude_id=session.pk,
    )
    if {h["id"] for h in hints} != before:
        session.similar_sessions = hints
        session.similar_dismissed_at = None
    new = [h for h in hints if h["id"] not in before]
    return prompts.similar_sessions_text(new) if new else ""


SIMILAR_FIELDS = ["similar_sessions", "similar_dismissed_at"]


def session_similar_dismiss(*, session: AISession, actor: User) -> AISession:
    """The engineer puts the "Solved before" hints away (kept: the AI was given them already)."""
    with transaction.atomic():
        locked = session_lock(session_id=session.pk, actor=actor, states=OPEN)
        if locked.similar_dismissed_at is None:
            locked.similar_dismissed_at = timezone.now()
            locked.save(update_fields=["similar_dismissed_at"])
            session_bump_state_version(session_id=locked.pk)  # the cached page shows them no more
            audit_record(account=locked.account, actor=actor, action="session.similar_dismiss", obj=locked)
    session.refresh_from_db()
    return session
