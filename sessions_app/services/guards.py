"""Who may act on a session, and when (SPEC §2). One rule, one answer, for every write:

- someone who may read the session but is not its engineer (a colleague while it awaits pickup,
  the engineer it was escalated to) gets PermissionDenied: 403;
- the session's engineer acting in a state that does not allow it gets Conflict: 409, saying what
  to do about it.

Every write takes the session row lock through `session_lock` first, so writers of one session
queue up in one order (session row, then the row they change) and never deadlock."""

from django.db import transaction
from django.db.models import Q

from resolutionflow.accounts.models import ADMIN_ROLES, User
from resolutionflow.errors import Conflict, PermissionDenied
from sessions_app.models import AISession
from sessions_app.services.state import session_bump_state_version

S = AISession.Status
OPEN = (S.ACTIVE, S.PAUSED)
WORKING = (S.ACTIVE,)
ANY = tuple(S.values)


def session_lock(
    *,
    session_id: int,
    actor: User | None,
    states: tuple[str, ...] = OPEN,
    conflict: str | dict[str, str] = "",
    admins_too: bool = False,
    related: tuple[str, ...] = (),
) -> AISession:
    """Lock the session row for the rest of the transaction and check `actor` may act on it now
    (`actor=None`: the system acting, only the state is checked). `conflict` replaces the default
    message for a wrong state: one message, or one per status with "" for the others."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Lock the session inside the transaction of the write it guards.")
    locked = AISession.objects.select_for_update(of=("self",)).select_related(*related).get(pk=session_id)
    session_check(locked, actor=actor, states=states, conflict=conflict, admins_too=admins_too)
    return locked


def session_bump_guarded(
    *,
    session: AISession,
    actor: User | None,
    states: tuple[str, ...] = OPEN,
    conflict: str | dict[str, str] = "",
) -> None:
    """The guard for a write whose only change to the session row is the state_version bump (a
    fact): the rule is checked on the caller's copy, then enforced by the bump itself — one UPDATE
    that takes the same row lock as `session_lock`, and changes the row only while the session
    still allows the write. One round trip instead of a SELECT ... FOR UPDATE and an UPDATE."""
    session_check(session, actor=actor, states=states, conflict=conflict)
    allowed = Q(status__in=states) & (Q(owner_id=actor.pk) if actor is not None else Q())
    if not session_bump_state_version(session_id=session.pk, where=allowed):
        # The session changed since the caller read it: the locked row says why (or, if it allows
        # the write again, the bump goes through under the lock).
        session_lock(session_id=session.pk, actor=actor, states=states, conflict=conflict)
        session_bump_state_version(session_id=session.pk)


def session_check(
    session: AISession,
    *,
    actor: User | None,
    states: tuple[str, ...] = OPEN,
    conflict: str | dict[str, str] = "",
    admins_too: bool = False,
) -> None:
    """The same check without the lock, for actions that write nothing (an AI draft to review)."""
    if actor is not None and session.owner_id != actor.pk and not (admins_too and actor.role in ADMIN_ROLES):
        raise PermissionDenied("Only the session's engineer can do that.")
    if session.status not in states:
        if isinstance(conflict, dict):
            conflict = conflict.get(session.status, conflict.get("", ""))
        raise Conflict(conflict or _wrong_state(session, states))


def _wrong_state(session: AISession, states: tuple[str, ...]) -> str:
    if session.status == S.PAUSED and S.ACTIVE in states:
        return "The session is paused. Resume it to continue."
    if session.status == S.RESOLVED:
        return "This session is resolved; it cannot change now."
    if session.status == S.REQUESTING_ESCALATION:
        return "This session is awaiting pickup; it changes once a colleague picks it up."
    return f"The session is {session.get_status_display().lower()}; it cannot change now."
