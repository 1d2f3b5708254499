"""Engineer session pages. Thin: resolve the session through the selector (404 for anyone who may
not open it), bind a form, call one service, render the page or the changed region."""

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from resolutionflow.accounts.tenancy import engineer_required, get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound
from sessions_app import selectors
from sessions_app.forms import (
    AnswerForm,
    LaneAnswerForm,
    LinkTicketForm,
    RateForm,
    ResolveForm,
    SessionFilterForm,
    SessionStartForm,
)
from sessions_app.models import MAX_STEPS, AISession, LaneItem, SessionStep
from sessions_app.services import turns


def _session(request, session_id: int) -> AISession:
    return selectors.session_get_for_user(user=request.user, session_id=session_id)


def _page_context(session: AISession, **extra) -> dict:
    steps = selectors.session_steps(session=session)
    last = steps[-1] if steps else None
    lane = selectors.session_lane(session=session)
    from sessions_app.views.fixes import fix_context

    escalations = list(session.escalations.select_related("escalated_by", "claimed_by", "target"))
    fixes = fix_context(session, escalate_form=extra.pop("escalate_form", None))
    return {
        **fixes,
        "session": session,
        "steps": steps,
        "current_step": last if last is not None and not last.answered else None,
        "needs_turn": turns.session_needs_turn(session, last),
        "lane": lane,
        # Facts count too: the lane opens by itself once there is something in it.
        "lane_count": selectors.lane_count(session=session, lane=lane),
        "max_steps": MAX_STEPS,
        "at_step_limit": session.step_count >= MAX_STEPS and (last is None or last.answered),
        "resolve_form": extra.pop("resolve_form", None) or ResolveForm(),
        "rate_form": extra.pop("rate_form", None) or RateForm(),
        "escalations": escalations,
        "open_escalation": next((e for e in escalations if e.claimed_at is None), None),
        "pushes": list(session.pushes.order_by("created_at", "id")),
        **extra,
    }


def _conversation_response(request, session: AISession, **extra) -> HttpResponse:
    """The conversation region plus out-of-band lane and header: one answer changes all three."""
    response = render(request, "sessions_app/partials/_conversation_update.html", _page_context(session, **extra))
    response["Vary"] = "HX-Request"
    return trigger_client_event(response, "state-changed", after="settle")


@engineer_required
@require_GET
def session_list(request):
    form = SessionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.session_list_for_user(
        user=request.user,
        query=filters.get("q", ""),
        status=filters.get("status", ""),
        domain=filters.get("domain", ""),
    )
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "sessions_app/session_list.html", {"page": page, "form": form, "querystring": query.urlencode()}
    )


@engineer_required
def session_new(request):
    form = SessionStartForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        initial={"internal_ticket": request.GET.get("ticket")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        session = turns.session_start(
            user=request.user,
            intake_type=data["intake_type"],
            intake_text=data["intake_text"],
            screenshot=data["screenshot"],
            internal_ticket=data["internal_ticket"] if data["intake_type"] == "internal_ticket" else None,
            psa_ticket_ref=data["psa_ticket_ref"] if data["intake_type"] == "psa_ticket" else "",
        )
        try:
            turns.session_take_turn(session=session, actor=request.user)
        except AIError as exc:
            # The session and its intake are saved; the page offers the retry.
            messages.warning(request, exc.message)
        return redirect("sessions_app:detail", session_id=session.pk)
    return render(request, "sessions_app/session_new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def session_detail(request, session_id: int):
    session = _session(request, session_id)
    return render(request, "sessions_app/session_detail.html", _page_context(session))


@login_required
@require_POST
def session_answer(request, session_id: int, step_id: int):
    session = _session(request, session_id)
    step = get_for_account(SessionStep.objects.filter(session=session), account=session.account_id, pk=step_id)
    form = AnswerForm(request.POST)
    answer_error = None
    if not form.is_valid():
        answer_error = " ".join(e for errors in form.errors.values() for e in errors)
    else:
        try:
            turns.session_answer_step(session=session, step=step, actor=request.user, **form.cleaned_data)
        except (InvalidInput, Conflict) as exc:
            answer_error = exc.message
    if answer_error:
        return _after_change(request, session, answer_error=answer_error, draft=request.POST.get("text", ""))
    return _take_turn_and_respond(request, session)


@login_required
@require_POST
def session_turn(request, session_id: int):
    """Retry the AI turn after a failure (the answer is already saved)."""
    session = _session(request, session_id)
    return _take_turn_and_respond(request, session)


def _take_turn_and_respond(request, session: AISession) -> HttpResponse:
    turn_error = None
    try:
        turns.session_take_turn(session=session, actor=request.user)
    except AIError as exc:
        turn_error = exc.message
    except Conflict as exc:
        turn_error = exc.message
    # The service leaves `session` current whether the turn succeeded or failed.
    return _after_change(request, session, turn_error=turn_error)


def _after_change(request, session: AISession, **extra) -> HttpResponse:
    if request.htmx:
        return _conversation_response(request, session, **extra)
    for key in ("answer_error", "turn_error"):
        if extra.get(key):
            messages.error(request, extra[key])
    return redirect("sessions_app:detail", session_id=session.pk)


@login_required
@require_POST
def lane_answer(request, session_id: int, item_id: int):
    session = _session(request, session_id)
    item = get_for_account(LaneItem.objects.filter(session=session), account=session.account_id, pk=item_id)
    form = LaneAnswerForm(request.POST)
    lane_error = None
    if form.is_valid():
        try:
            turns.lane_item_answer(
                session=session, item=item, actor=request.user, answer=form.cleaned_data["answer"]
            )
        except (InvalidInput, Conflict) as exc:
            lane_error = exc.message
    else:
        lane_error = " ".join(e for errors in form.errors.values() for e in errors)
    if not request.htmx:
        if lane_error:
            messages.error(request, lane_error)
        return redirect("sessions_app:detail", session_id=session.pk)
    context = _page_context(session, lane_error=lane_error, lane_error_item=item.pk if lane_error else None)
    response = render(request, "sessions_app/partials/_lane_update.html", context)
    response["Vary"] = "HX-Request"
    return trigger_client_event(response, "state-changed", after="settle") if not lane_error else response


def _lifecycle(service, success: str):
    @login_required
    @require_POST
    def view(request, session_id: int):
        session = _session(request, session_id)
        service(session=session, actor=request.user)
        messages.success(request, success)
        if request.htmx:
            from django_htmx.http import HttpResponseClientRedirect

            return HttpResponseClientRedirect(reverse("sessions_app:detail", args=[session.pk]))
        return redirect("sessions_app:detail", session_id=session.pk)

    return view


session_pause = _lifecycle(turns.session_pause, "Session paused. Resume it whenever you're ready.")
session_resume = _lifecycle(turns.session_resume, "Session resumed.")
session_reopen = _lifecycle(turns.session_reopen, "Session reopened.")


@login_required
@require_POST
def session_resolve(request, session_id: int):
    session = _session(request, session_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "sessions_app/session_detail.html",
            _page_context(session, resolve_form=form, resolve_open=True),
            status=400,
        )
    turns.session_resolve(session=session, actor=request.user, **form.cleaned_data)
    push = session.pushes.filter(kind="resolution_note").first()
    if push is not None and push.status == "failed":
        messages.warning(request, f"Resolved, but the note was not posted: {push.error} You can retry it below.")
    if session.template_drafts.filter(status="pending").exists():
        messages.success(request, "Resolved. Before you go: save the script you ran as a template?")
        return redirect("sessions_app:drafts", session_id=session.pk)
    if push is None or push.status != "failed":
        messages.success(request, "Resolved. The note is posted and the documentation is below.")
    return redirect("sessions_app:detail", session_id=session.pk)


@login_required
@require_POST
def session_rate(request, session_id: int):
    session = _session(request, session_id)
    form = RateForm(request.POST)
    if not form.is_valid():
        return render(request, "sessions_app/session_detail.html", _page_context(session, rate_form=form), status=400)
    turns.session_rate(session=session, actor=request.user, **form.cleaned_data)
    messages.success(request, "Thanks for rating this session.")
    return redirect("sessions_app:detail", session_id=session.pk)


@login_required
@require_POST
def session_link_ticket(request, session_id: int):
    session = _session(request, session_id)
    form = LinkTicketForm(request.POST, user=request.user)
    if form.is_valid():
        turns.session_link_ticket(session=session, actor=request.user, **form.cleaned_data)
        session.refresh_from_db()
        if session.ticket_context_status == AISession.TicketContextStatus.UNAVAILABLE:
            messages.warning(request, f"Ticket linked, but its context is unavailable: {session.ticket_context_note}.")
        else:
            messages.success(request, "Ticket linked. The AI will see its context from the next step.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("sessions_app:detail", session_id=session.pk)


@login_required
@require_GET
def session_screenshot(request, session_id: int):
    session = _session(request, session_id)
    if not session.screenshot:
        raise NotFound()
    response = FileResponse(
        session.screenshot.open("rb"),
        content_type=session.screenshot_content_type
        or mimetypes.guess_type(session.screenshot.name)[0]
        or "application/octet-stream",
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def session_documentation(request, session_id: int):
    session = _session(request, session_id)
    if session.status != AISession.Status.RESOLVED:
        raise Conflict("The documentation is written when the session is resolved.")
    response = HttpResponse(session.documentation, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.md"'
    return response
