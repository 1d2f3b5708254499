"""Engineer session pages. Thin: resolve the session through the selector (404 for anyone who may
not open it), bind a form, call one service, answer the page or the regions that changed."""

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from resolutionflow.accounts.tenancy import engineer_required, get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from resolutionflow.htmx import STATE_CHANGED, form_error_message, region_response
from sessions_app import selectors
from sessions_app.forms import (
    AnswerForm,
    LaneAnswerForm,
    LinkTicketForm,
    RateForm,
    ResolveForm,
    SessionFilterForm,
    SessionStartForm,
    TurnRetryForm,
)
from sessions_app.models import AISession, LaneItem, SessionStep
from sessions_app.page import session_page
from sessions_app.services import intake, lifecycle, similar, turns
from sessions_app.services.state import watch_state_versions


def _session(request, session_id: int) -> AISession:
    return selectors.session_get_for_user(user=request.user, session_id=session_id)


def _detail(session: AISession) -> str:
    return reverse("sessions_app:detail", args=[session.pk])


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
        code=filters.get("code", ""),
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
        # From a ticket's page: the session starts on that ticket.
        initial={"internal_ticket": request.GET.get("ticket"), "intake_type": "internal_ticket"}
        if request.GET.get("ticket")
        else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        session = intake.session_start(
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
    draft = request.session.pop(_resolve_draft_key(session_id), None)
    if draft is not None:  # a Resolve that was refused: its form comes back as it was sent
        session = _session(request, session_id)
        return session_page(request, session, status=400, resolve=ResolveForm(draft), resolve_open=True)
    # The row is enough while the cached body is current; the page loads the rest otherwise.
    return session_page(request, selectors.session_row_for_user(user=request.user, session_id=session_id))


def _resolve_draft_key(session: AISession | int) -> str:
    return f"resolve-draft:{getattr(session, 'pk', session)}"


@login_required
@require_POST
def session_answer(request, session_id: int, step_id: int):
    """The answer is saved, then the AI asked. HTMX gets the answered step and the next one in
    place of the step card, and out of band only the regions the turn changed."""
    session = _session(request, session_id)
    # The conversation is read once: the step answered is one of it, and the turn is built from it.
    steps = list(session.steps.order_by("order"))
    step = next((s for s in steps if s.pk == step_id), None)
    if step is None:
        raise NotFound()
    form = AnswerForm(request.POST)
    error = "" if form.is_valid() else form_error_message(form)
    if not error:
        try:
            with watch_state_versions() as bumped:
                answered = turns.session_answer_step(
                    session=session, step=step, actor=request.user, **form.cleaned_data
                )
        except (InvalidInput, Conflict) as exc:
            error = exc.message
        else:
            changed = session.pk in bumped
            return _turn_response(
                request, session, answered=answered, changed=changed, before=answered.order, steps=steps
            )
    context = {"session": session, "step": step, "answer_error": error, "draft": form.data.get("text", "")}
    return region_response(
        request, "sessions_app/partials/_step_card.html", context, redirect_to=_detail(session), error=error
    )


@login_required
@require_POST
def session_turn(request, session_id: int):
    """Retry the AI turn after a failure (the answer is already saved). The form says how many
    steps its page shows: a step past those is new to that page, even if another tab made it."""
    session = _session(request, session_id)
    form = TurnRetryForm(request.POST)
    shown = form.cleaned_data["shown"] if form.is_valid() and form.cleaned_data["shown"] is not None else None
    return _turn_response(
        request, session, answered=None, changed=False, before=session.step_count if shown is None else shown
    )


def _turn_response(
    request,
    session: AISession,
    *,
    answered: SessionStep | None,
    changed: bool,
    before: int,
    steps: list[SessionStep] | None = None,
) -> HttpResponse:
    """The regions an AI turn changed. `before` is the step count the page already shows: a step
    after it is new (a double submit that found the turn already taken adds nothing)."""
    turn_error, turn_busy = "", None
    with watch_state_versions() as bumped:
        try:
            step = turns.session_take_turn(session=session, actor=request.user, steps=steps)
        except AIError as exc:
            step, turn_error = None, exc.message
            if exc.busy:  # the HTMX page retries by itself after the wait it was given, with a countdown
                turn_busy = exc.retry_after or 1
        except Conflict as exc:
            step, turn_error = None, exc.message
        except PermissionDenied as exc:
            if answered is None:
                raise  # asking for a turn on someone else's session: 403
            # The answer is saved, but the session was handed over while the AI thought.
            step, turn_error = None, exc.message
    if not request.htmx:
        return region_response(request, "", {}, redirect_to=_detail(session), error=turn_error)
    # The service left `session` current (step count, confidence, totals); what else changed is
    # whatever bumped state_version, in the answer or the turn (a fix, an outcome, promoted facts,
    # the nudge count).
    changed = changed or session.pk in bumped
    context = {
        **selectors.session_conversation_context(session=session, steps=[step] if step else None),
        **selectors.session_lane_context(session=session),
        **(selectors.session_fix_context(session=session) if changed else {}),
        "answered": answered,
        "new_step": step if step is not None and step.order > before else None,
        "turn_error": turn_error,
        "turn_busy": turn_busy,
        "state_changed": changed,
    }
    return region_response(request, "sessions_app/partials/_turn_update.html", context, trigger=STATE_CHANGED)


@login_required
@require_POST
def lane_answer(request, session_id: int, item_id: int):
    session = _session(request, session_id)
    item = get_for_account(LaneItem.objects.filter(session=session), account=session.account_id, pk=item_id)
    form = LaneAnswerForm(request.POST)
    error = "" if form.is_valid() else form_error_message(form)
    if not error:
        try:
            turns.lane_item_answer(session=session, item=item, actor=request.user, answer=form.cleaned_data["answer"])
        except (InvalidInput, Conflict) as exc:
            error = exc.message
    return region_response(
        request,
        "sessions_app/partials/_lane_update.html",
        lambda: {
            **selectors.session_lane_context(session=session),
            "lane_error": error,
            "lane_error_item": item.pk if error else None,
        },
        redirect_to=_detail(session),
        error=error,
        trigger=STATE_CHANGED,
    )


def _lifecycle(service, success: str):
    @login_required
    @require_POST
    def view(request, session_id: int):
        session = _session(request, session_id)
        service(session=session, actor=request.user)
        messages.success(request, success)
        if request.htmx:
            return HttpResponseClientRedirect(_detail(session))
        return redirect(_detail(session))

    return view


session_pause = _lifecycle(lifecycle.session_pause, "Session paused. Resume it whenever you're ready.")
session_resume = _lifecycle(lifecycle.session_resume, "Session resumed.")
session_reopen = _lifecycle(lifecycle.session_reopen, "Session reopened.")


@login_required
@require_POST
def session_resolve(request, session_id: int):
    session = _session(request, session_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        # Back to the session's own address, with the reason; what was typed comes back in the open
        # Resolve box with each error beside its field (kept for the next load of the page).
        messages.error(request, form_error_message(form))
        request.session[_resolve_draft_key(session)] = {k: v for k, v in form.data.items() if k in form.fields}
        return redirect(_detail(session))
    try:
        lifecycle.session_resolve(session=session, actor=request.user, **form.cleaned_data)
    except InvalidInput as exc:
        # A reference the form could not check (another account's session, an unknown ticket):
        # the same way back as a form error, nothing saved.
        messages.error(request, exc.message)
        request.session[_resolve_draft_key(session)] = {k: v for k, v in form.data.items() if k in form.fields}
        return redirect(_detail(session))
    push = session.pushes.filter(kind="resolution_note").first()
    if push is not None and push.status == "failed":
        messages.warning(request, f"Resolved, but the note was not posted: {push.error} You can retry it below.")
    if session.template_drafts.filter(status="pending").exists():
        messages.success(request, "Resolved. Before you go: save the script you ran as a template?")
        return redirect("sessions_app:drafts", session_id=session.pk)
    if push is None or push.status != "failed":
        messages.success(request, "Resolved. The note is posted and the documentation is below.")
    return redirect(_detail(session))


@login_required
@require_POST
def session_rate(request, session_id: int):
    session = _session(request, session_id)
    form = RateForm(request.POST)
    if not form.is_valid():
        return session_page(request, session, status=400, rate=form)
    lifecycle.session_rate(session=session, actor=request.user, **form.cleaned_data)
    messages.success(request, "Thanks for rating this session.")
    return redirect(_detail(session))


@login_required
@require_POST
def session_link_ticket(request, session_id: int):
    session = _session(request, session_id)
    form = LinkTicketForm(request.POST, user=request.user)
    if form.is_valid():
        lifecycle.session_link_ticket(session=session, actor=request.user, **form.cleaned_data)
        if session.ticket_context_status == AISession.TicketContextStatus.UNAVAILABLE:
            messages.warning(request, f"Ticket linked, but its context is unavailable: {session.ticket_context_note}.")
        else:
            messages.success(request, "Ticket linked. The AI will see its context from the next step.")
    else:
        messages.error(request, form_error_message(form))
    return redirect(_detail(session))


@login_required
@require_POST
def similar_dismiss(request, session_id: int):
    """Put the "Solved before" hints away; HTMX gets the region's replacement (focus goes to it)."""
    session = _session(request, session_id)
    similar.session_similar_dismiss(session=session, actor=request.user)
    return region_response(
        request,
        "sessions_app/partials/_similar.html",
        {"session": session, "dismissed_now": True},
        redirect_to=_detail(session),
        notice="Hints dismissed.",
    )


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
