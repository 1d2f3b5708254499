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
from django.db.models import F
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import account_settings_get, audit_record
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, ExternalServiceError
from resolutionflow.psa.client import psa_client_for_account
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import internal_ticket_post_note, internal_ticket_set_status
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
        try:
            if session.psa_ticket_ref:
                external_id, status_note = _post_to_psa(session, locked, psa_kind, status_name)
            elif session.internal_ticket_id:
                external_id, status_note = _post_internal(session, locked, internal_kind, status_name, actor)
            else:
                return _record(locked, ok=True, local=True, status_note="No ticket is linked: kept with the session.")
        except ExternalServiceError as exc:
            return _record(locked, ok=False, error=exc.message)
        return _record(locked, ok=True, external_id=external_id, status_note=status_note)


def _post_to_psa(session: AISession, push: TicketPush, psa_kind: str, status_name: str) -> tuple[str, str]:
    client = psa_client_for_account(session.account)
    result = client.post_note(session.psa_ticket_ref, body=push.body, kind=psa_kind)
    status_id = account_settings_get(account=session.account).preferences.get(f"psa_{status_name}_status_id")
    if not status_id:
        return result.external_id, f"No {status_name} status is configured for the PSA: the ticket's status was left."
    client.change_status(session.psa_ticket_ref, status_id=str(status_id))
    return result.external_id, f"Ticket moved to the {status_name} status."


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
    push: TicketPush, *, ok: bool, local: bool = False, error: str = "", external_id: str = "", status_note: str = ""
) -> TicketPush:
    now = timezone.now()
    if ok:
        status = TicketPush.Status.LOCAL if local else TicketPush.Status.POSTED
        TicketPush.objects.filter(pk=push.pk).update(
            status=status, error="", external_id=external_id, status_note=status_note[:300],
            attempts=F("attempts") + 1, last_attempt_at=now, posted_at=now,
        )  # fmt: skip
    else:
        logger.info("Push %s of session %s failed: %s", push.pk, push.session_id, error)
        TicketPush.objects.filter(pk=push.pk).update(
            status=TicketPush.Status.FAILED, error=error[:500], attempts=F("attempts") + 1, last_attempt_at=now
        )
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
    MAX_BACKGROUND_ATTEMPTS times after the first attempt."""
    now = now or timezone.now()
    due = TicketPush.objects.filter(
        status=TicketPush.Status.FAILED,
        attempts__lte=TicketPush.MAX_BACKGROUND_ATTEMPTS,
        last_attempt_at__lte=now - RETRY_EVERY,
    ).order_by("last_attempt_at")
    count = 0
    for push in due[:100]:
        push_attempt(push=push)
        count += 1
    return count
