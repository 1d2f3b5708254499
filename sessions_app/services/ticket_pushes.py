"""Posting a session's documents to its ticket (SPEC §9, the posting side): the PSA ticket through
the PSA interface, else the internal ticket, else nowhere (`local`). Every attempt records its
status; a failure never blocks the resolve or escalate and is retried by hand or in the background
(every few minutes, a bounded number of times).

The documents themselves — the resolution note and the escalation package — are drafted by
facts_app (they are built from What we know). facts_app registers its drafter here when it
loads, so sessions_app can ask for a document without importing the app built on it."""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, DomainError, ExternalServiceError
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import (
    PostProgress,
    internal_ticket_post_note,
    internal_ticket_set_status,
    psa_document_post,
)
from sessions_app.models import AISession, Escalation, TicketPush
from sessions_app.services.guards import ANY, session_check
from sessions_app.services.state import session_page_changed

logger = logging.getLogger(__name__)

RESOLUTION_NOTE = TicketPush.Kind.RESOLUTION_NOTE.value
ESCALATION_PACKAGE = TicketPush.Kind.ESCALATION_PACKAGE.value
KINDS = (RESOLUTION_NOTE, ESCALATION_PACKAGE)

_drafter: Callable | None = None


class NoDrafter(ExternalServiceError):
    default_message = "No document drafter is installed."


def register_drafter(fn: Callable) -> Callable:
    """fn(*, session, kind, actor) -> markdown; raises AIError when the AI fails."""
    global _drafter
    _drafter = fn
    return fn


def draft_document(*, session: AISession, kind: str, actor: User | None) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    if _drafter is None:
        raise NoDrafter()
    return _drafter(session=session, kind=kind, actor=actor)


RETRY_EVERY = timedelta(minutes=5)
# Per kind: the PSA note type, the internal note kind, the ticket status it moves to, the settings key.
_POSTING = {
    TicketPush.Kind.RESOLUTION_NOTE: ("resolution", InternalTicketNote.Kind.RESOLUTION, "resolved"),
    TicketPush.Kind.ESCALATION_PACKAGE: ("internal_analysis", InternalTicketNote.Kind.INTERNAL, "escalated"),
}


def push_create(*, session: AISession, kind: str, body: str, actor: User, escalation=None) -> TicketPush:
    """Record what is to be posted (inside the caller's transaction); `push_attempt` posts it."""
    label = session.ticket_label
    return TicketPush.objects.create(
        account_id=session.account_id,
        session=session,
        escalation=escalation,
        kind=kind,
        body=(body or "").strip(),
        ticket_label=label,
        created_by=actor,
    )


def push_attempt(*, push: TicketPush, actor: User | None = None) -> TicketPush:
    """Post the document (drafting it first if it has no text yet). Idempotent: a posted or local
    push is left as it is. Never raises for a PSA, ticket or AI failure; it records it."""
    push = TicketPush.objects.select_related("session__account", "session__internal_ticket").get(pk=push.pk)
    if push.status in (TicketPush.Status.POSTED, TicketPush.Status.LOCAL):
        return push
    if not push.body:
        # Drafting is the slow part; it happens outside any lock, then only an empty body is filled.
        try:
            body = draft_document(session=push.session, kind=push.kind, actor=actor or push.created_by)
        except (AIError, ExternalServiceError) as exc:
            why = AIError.MESSAGES.get(exc.kind, "The AI call failed.") if isinstance(exc, AIError) else exc.message
            return _record(push, ok=False, error=f"The {push.get_kind_display().lower()} could not be drafted. {why}")
        TicketPush.objects.filter(pk=push.pk, body="").update(body=body.strip())
        push.refresh_from_db(fields=["body"])
        if push.escalation_id:
            Escalation.objects.filter(pk=push.escalation_id, package="").update(package=push.body)
    with transaction.atomic():
        locked = TicketPush.objects.select_for_update().get(pk=push.pk)
        if locked.status in (TicketPush.Status.POSTED, TicketPush.Status.LOCAL):
            return locked  # a concurrent attempt got there first
        session = push.session
        psa_kind, internal_kind, status_name = _POSTING[locked.kind]
        # Still pending after RETRY_EVERY: the process posting it died, maybe after the note or the
        # time entry reached the ticket, so they are looked for before anything is posted.
        stale = locked.created_at <= timezone.now() - RETRY_EVERY
        progress = PostProgress(
            note_id=locked.external_id, time_entry_id=locked.time_entry_id, retrying=locked.attempts > 0 or stale
        )
        try:
            if session.psa_ticket_ref:
                status_note = _post_to_psa(session, locked, psa_kind, status_name, progress)
                external_id = progress.note_id
            elif session.internal_ticket_id:
                external_id, status_note = _post_internal(session, locked, internal_kind, status_name, actor)
            else:
                return _record(locked, ok=True, local=True, status_note="No ticket is linked: kept with the session.")
        except DomainError as exc:  # the PSA down or refusing, or a ticket number it cannot take
            return _record(locked, ok=False, error=exc.message, progress=progress)
        return _record(locked, ok=True, external_id=external_id, status_note=status_note, progress=progress)


def _post_to_psa(session: AISession, push: TicketPush, psa_kind: str, status_name: str, progress: PostProgress) -> str:
    """The note (with the engineer's member), the session's time entry with a resolution, then the
    status move read back (resolutionflow.psa.services.psa_document_post). Warnings (an engineer
    without a member) lead the status note."""
    span = None
    if push.kind == RESOLUTION_NOTE:
        span = (session.created_at, session.resolved_at or timezone.now())
    status_note = psa_document_post(
        account=session.account, ticket_ref=session.psa_ticket_ref, body=push.body, note_kind=psa_kind,
        status_name=status_name, author=push.created_by, progress=progress, time_span=span,
    )  # fmt: skip
    return " ".join([*progress.warnings, status_note])


def _post_internal(
    session: AISession, push: TicketPush, internal_kind: str, status_name: str, actor: User | None
) -> tuple[str, str]:
    ticket = InternalTicket.objects.select_for_update().get(pk=session.internal_ticket_id)
    note = internal_ticket_post_note(ticket=ticket, body=push.body, kind=internal_kind, actor=actor or push.created_by)
    internal_ticket_set_status(
        ticket=ticket,
        status=status_name,
        actor=actor or push.created_by,
        resolution_notes=push.body if push.kind == RESOLUTION_NOTE else "",
    )
    return f"note-{note.pk}", f"{ticket.reference} marked {status_name}."


def _record(
    push: TicketPush,
    *,
    ok: bool,
    local: bool = False,
    error: str = "",
    external_id: str = "",
    status_note: str = "",
    progress: PostProgress | None = None,
) -> TicketPush:
    now = timezone.now()
    done = {}
    if progress is not None and (
        progress.note_id or progress.time_entry_id
    ):  # what reached the ticket is kept, failed or not: a retry never posts it again
        done = {"external_id": progress.note_id, "time_entry_id": progress.time_entry_id}
    if ok:
        status = TicketPush.Status.LOCAL if local else TicketPush.Status.POSTED
        TicketPush.objects.filter(pk=push.pk).update(
            status=status, error="", status_note=status_note[:300], attempts=F("attempts") + 1,
            last_attempt_at=now, posted_at=now, **{"external_id": external_id, **done},
        )  # fmt: skip
    else:
        logger.info("Push %s of session %s failed: %s", push.pk, push.session_id, error)
        TicketPush.objects.filter(pk=push.pk).update(
            status=TicketPush.Status.FAILED, error=error[:500], attempts=F("attempts") + 1, last_attempt_at=now,
            status_note=" ".join(progress.warnings)[:300] if progress else "", **done,
        )  # fmt: skip
    push.refresh_from_db()
    session_page_changed(session_id=push.session_id)
    return push


def push_retry(*, push: TicketPush, actor: User) -> TicketPush:
    """Retry by hand, from the session page: the session's engineer only."""
    session_check(push.session, actor=actor, states=ANY)
    if push.status != TicketPush.Status.FAILED:
        raise Conflict("Only a failed post can be retried.")
    push = push_attempt(push=push, actor=actor)
    audit_record(
        account=push.session.account, actor=actor, action="push.retry", obj=push, details={"status": push.status}
    )
    return push


def pushes_retry_failed(*, now=None) -> int:
    """The background retry: failed pushes whose last attempt is older than RETRY_EVERY, at most
    MAX_BACKGROUND_ATTEMPTS times after the first attempt; and pushes still pending RETRY_EVERY after
    they were recorded (the process posting them died before recording anything): never left behind."""
    now = now or timezone.now()
    due = TicketPush.objects.filter(
        Q(
            status=TicketPush.Status.FAILED,
            attempts__lte=TicketPush.MAX_BACKGROUND_ATTEMPTS,
            last_attempt_at__lte=now - RETRY_EVERY,
        )
        | Q(status=TicketPush.Status.PENDING, created_at__lte=now - RETRY_EVERY)
    ).order_by(F("last_attempt_at").asc(nulls_first=True), "pk")
    count = 0
    for push in due[:100]:
        push_attempt(push=push)
        count += 1
    return count
