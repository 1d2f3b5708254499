"""The engineers' list of L1 escalations (SPEC §7 Escalate): the account's escalated walks, one
walk's transcript as the tech saw it, and starting a session from it. Thin: the selector answers
404 for another account's walk and for one that is not escalated; one service starts the session."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from l1_app import selectors
from l1_app.services.escalations import walk_start_session
from resolutionflow.accounts.tenancy import engineer_required
from resolutionflow.ai.errors import AIError
from sessions_app.models import AISession
from sessions_app.selectors import session_may_open
from sessions_app.services import turns


@engineer_required
@require_GET
def escalation_list(request):
    walks = selectors.l1_escalations(account_id=request.user.account_id)
    page = Paginator(walks, 20).get_page(request.GET.get("page"))
    return render(request, "l1_app/escalation_list.html", {"page": page})


@engineer_required
@require_GET
def escalation_detail(request, walk_id: int):
    walk = selectors.l1_escalation_get(user=request.user, walk_id=walk_id)
    context = {
        "walk": walk,
        "steps": selectors.walk_as_served(walk=walk),
        # A colleague's session is theirs: it is named, not linked (its page would answer 404).
        "session_open": walk.session is not None and session_may_open(session=walk.session, user=request.user),
    }
    return render(request, "l1_app/escalation_detail.html", context)


@engineer_required
@require_POST
def escalation_start_session(request, walk_id: int):
    walk = selectors.l1_escalation_get(user=request.user, walk_id=walk_id)
    session = walk_start_session(walk=walk, engineer=request.user)
    if session.owner_id != request.user.pk and not session_may_open(session=session, user=request.user):
        messages.info(request, f"{session.owner.get_full_name()} already started session #{session.pk} from this walk.")
        return redirect("l1_app:escalation_detail", walk_id=walk.pk)
    # The first turn, outside the walk's lock. Once the session has a step (the first click's, a
    # colleague's) there is nothing to take: a second click just opens the session.
    if session.owner_id == request.user.pk and session.step_count == 0 and session.status == AISession.Status.ACTIVE:
        try:
            turns.session_take_turn(session=session, actor=request.user)
        except AIError as exc:
            # The session and its intake are saved; its page offers the retry.
            messages.warning(request, exc.message)
    return redirect("sessions_app:detail", session_id=session.pk)
