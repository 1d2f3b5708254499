"""Escalate, the escalation queue, the handoff screen and "Start here", and retrying a failed post.
Thin: resolve the session through the selector (404 for anyone who may not open it), bind a form,
call one service, render the page or the changed region."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from resolutionflow.accounts.tenancy import engineer_required, get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound
from resolutionflow.htmx import drawn, form_error_message, nothing_changed, region_response
from sessions_app import selectors
from sessions_app.forms import ClaimForm
from sessions_app.models import AISession, Escalation, TicketPush
from sessions_app.page import session_page
from sessions_app.services import escalations, ticket_pushes, turns

# A drawn queue region outlives no minute (its version has the minute in it); this bounds memory.
QUEUE_CACHE_SECONDS = 120


@login_required
@require_POST
def session_escalate(request, session_id: int):
    session = selectors.session_get_for_user(user=request.user, session_id=session_id)
    form = selectors.escalate_form(
        session=session, user=request.user, fix=selectors.fix_active(session=session), data=request.POST
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            escalation = escalations.session_escalate(
                session=session, actor=request.user, reason=data["reason"], target_id=data["target"],
                intercept=data.get("intercept", ""), intercept_note=data.get("intercept_note", ""),
                package=data["package"], package_drafted_from=data["package_drafted_from"],
                package_edited=data["package_edited"],
            )  # fmt: skip
        except InvalidInput as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            push = escalation.pushes.first()
            if push and push.status == TicketPush.Status.FAILED:
                messages.warning(request, f"Escalated. The package was not posted: {push.error} Retry it below.")
            else:
                messages.success(request, "Escalated. Your colleagues can see it in the escalation queue.")
            return redirect("sessions_app:detail", session_id=session.pk)
    return session_page(request, session, status=400, escalate=form, escalate_open=True)


@engineer_required
@require_GET
def escalation_queue(request):
    """The queue page, and its region polled every 5 s. A poll that sends the version it shows gets
    204 (nothing to swap) while the account's queue has not changed: no query beyond the login.
    The region itself is drawn once per version and viewer, then served from the cache."""
    version = selectors.escalation_queue_version(account_id=request.user.account_id)
    if request.htmx and request.GET.get("v") == version:
        return nothing_changed()
    key = f"escalation-queue-region:{request.user.account_id}:{request.user.pk}:{version}"
    html = cache.get(key)
    if html is None:
        queue = selectors.escalation_queue(user=request.user)
        context = {"queue": queue, "escalations": queue.shown, "queue_version": version}
        html = render_to_string("sessions_app/partials/_queue.html", context, request=request)
        cache.set(key, html, timeout=QUEUE_CACHE_SECONDS)
    return region_response(
        request,
        "partials/_drawn.html",
        {"html": drawn(html)},
        page="sessions_app/escalation_queue.html",
    )


def _handoff_escalation(request, session_id: int) -> tuple[AISession, Escalation]:
    session = selectors.session_get_for_user(user=request.user, session_id=session_id)
    escalation = selectors.escalation_open(session=session)
    return session, escalation


def _picked_up_by_colleague(request, session_id: int):
    """The handoff of a session a colleague picked up first (the claim race's loser, a stale tab,
    the bell's link): who has it, on a page that stays, with the way back to the queue — never a
    bare 404. None when no colleague did."""
    escalation = selectors.escalation_picked_up_by_colleague(user=request.user, session_id=session_id)
    if escalation is None:
        return None
    return render(request, "sessions_app/handoff_picked_up.html", {"escalation": escalation})


@engineer_required
@require_GET
def handoff_screen(request, session_id: int):
    try:
        session, escalation = _handoff_escalation(request, session_id)
    except NotFound:
        picked_up = _picked_up_by_colleague(request, session_id)
        if picked_up is None:
            raise
        return picked_up
    if escalation is None or session.status != AISession.Status.REQUESTING_ESCALATION:
        picked_up = _picked_up_by_colleague(request, session_id)
        if picked_up is not None:
            return picked_up
        messages.info(request, "This session is not waiting for pickup any more.")
        return redirect("sessions_app:escalation_queue")
    context = {
        "session": session,
        "escalation": escalation,
        "is_own": escalation.escalated_by_id == request.user.pk,
        "form": ClaimForm(),
        "tried": selectors.handoff_briefing(session, escalation),
        "facts": list(session.facts.filter(deleted_at__isnull=True).order_by("created_at", "id")),
        "package_push": escalation.pushes.first(),
        **selectors.handoff_assessment_context(escalation=escalation),
    }
    return render(request, "sessions_app/handoff.html", context)


@engineer_required
@require_GET
def handoff_assessment(request, session_id: int):
    session, escalation = _handoff_escalation(request, session_id)
    context = {"gone": True} if escalation is None else selectors.handoff_assessment_context(escalation=escalation)
    # The assessment is a region of the handoff screen: without HTMX, that screen is the answer.
    handoff = reverse("sessions_app:handoff", args=[session.pk])
    return region_response(request, "sessions_app/partials/_assessment.html", context, redirect_to=handoff)


@engineer_required
@require_POST
def session_claim(request, session_id: int):
    try:
        session, escalation = _handoff_escalation(request, session_id)
    except NotFound:
        # Lost the race: the session left the queue for the colleague who claimed it first. The
        # handoff screen says who (only ever for a session of the user's own account).
        if selectors.escalation_picked_up_by_colleague(user=request.user, session_id=session_id) is None:
            raise
        return redirect("sessions_app:handoff", session_id=session_id)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_message(form))
        return redirect("sessions_app:handoff", session_id=session.pk)
    try:
        escalations.session_claim(session=session, actor=request.user, **form.cleaned_data)
    except Conflict as exc:
        if selectors.escalation_picked_up_by_colleague(user=request.user, session_id=session.pk) is not None:
            return redirect("sessions_app:handoff", session_id=session.pk)
        messages.error(request, exc.message)
        return redirect("sessions_app:escalation_queue")
    messages.success(request, "It's yours now. The briefing is in the conversation.")
    session.refresh_from_db()
    session.read_only = False
    if selectors.session_needs_turn(session, session.steps.order_by("-order").first()):
        # Fresh context answered the step the session stopped at: the AI goes on from it now.
        try:
            turns.session_take_turn(session=session, actor=request.user)
        except AIError as exc:
            messages.warning(request, exc.message)
    return redirect("sessions_app:detail", session_id=session.pk)


@login_required
@require_POST
def push_retry(request, session_id: int, push_id: int):
    session = selectors.session_get_for_user(user=request.user, session_id=session_id)
    push = get_for_account(TicketPush.objects.filter(session=session), account=session.account_id, pk=push_id)
    try:
        push = ticket_pushes.push_retry(push=push, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        if push.status == TicketPush.Status.FAILED:
            messages.warning(request, f"Still not posted: {push.error}")
        else:
            messages.success(request, f"{push.get_kind_display()} posted.")
    return redirect("sessions_app:detail", session_id=session.pk)
