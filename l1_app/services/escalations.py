"""An engineer takes an escalated L1 walk on (SPEC §7 Escalate): a session started from the walk,
with the walk's transcript as its intake and on the walk's ticket. Only the session's row is made
under the walk's lock; its preparation (the ticket's context from the PSA, the fast-tier
classification) runs after the lock is released, and the AI's first turn is the caller's
(`sessions_app.services.turns.session_take_turn`)."""

from django.db import transaction

from l1_app.models import Walk
from l1_app.selectors import walk_path, walk_session_intake
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.errors import Conflict, NotFound, PermissionDenied
from sessions_app.models import AISession
from sessions_app.services.intake import session_create, session_prepare


def walk_start_session(*, walk: Walk, engineer: User) -> AISession:
    """The session started from `walk`: made once, then the same one for every later call (two
    clicks, two engineers at once: the walk's row lock makes the second wait and find the first's).
    Its intake is the problem and the walk's transcript; its ticket is the walk's."""
    if not engineer.can_use_sessions:
        raise PermissionDenied("Only engineers start sessions from L1 walks.")
    if walk.account_id != engineer.account_id:
        raise NotFound()
    with transaction.atomic():
        # `of=("self",)`: the walk's row alone is locked (its ticket and tech are only read). The
        # session is not joined here: a request that waited for the lock gets the walk's row as the
        # first one committed it, but a joined row as it was before the wait (none).
        locked = Walk.objects.select_for_update(of=("self",)).select_related("tech", "internal_ticket").get(pk=walk.pk)
        if locked.session_id is not None:
            walk.session = AISession.objects.select_related("owner").get(pk=locked.session_id)
            return walk.session
        if locked.status != Walk.Status.ESCALATED:
            raise Conflict("Only an escalated walk can be taken on in a session.")
        intake_type, ticket, ref = AISession.IntakeType.TEXT, None, ""
        if locked.internal_ticket_id:
            intake_type, ticket = AISession.IntakeType.INTERNAL_TICKET, locked.internal_ticket
        elif locked.psa_ticket_ref:
            intake_type, ref = AISession.IntakeType.PSA_TICKET, locked.psa_ticket_ref
        session = session_create(
            user=engineer,
            intake_type=intake_type,
            intake_text=walk_session_intake(walk=locked, steps=walk_path(walk=locked)),
            internal_ticket=ticket,
            psa_ticket_ref=ref,
        )
        locked.session = session
        locked.save(update_fields=["session"])
        audit_record(
            account=engineer.account,
            actor=engineer,
            action="l1_walk.session_start",
            obj=locked,
            details={"session_id": session.pk},
        )
    walk.session = session_prepare(session=session, user=engineer)
    return walk.session
