"""The What-we-know panel: one region, every action returns it and tells the page the state changed."""

from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from resolutionflow.accounts.tenancy import engineer_required, get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from resolutionflow.htmx import STATE_CHANGED, form_error_message, region_response
from sessions_app.models import LaneItem
from sessions_app.selectors import (
    escalation_open,
    handoff_assessment_context,
    session_get_for_user,
    session_row_for_user,
)
from sessions_app.services.escalations import intercept_drafted_from

from . import services
from .forms import FactForm, FeedbackForm, PreviewForm, PromoteForm
from .models import Fact
from .previews import handoff_assessment_retry, preview_get, preview_last_good
from .selectors import facts_counts, facts_panel, feedback_on_session, vote_context


def _panel(request, session, *, error: str = "", notice: str = "", **extra):
    """The panel (and the Tasks count, out of band); a change tells the page the state changed.
    A draft or a notice changes nothing, so it triggers nothing."""
    return region_response(
        request,
        "facts_app/partials/_panel_update.html",
        lambda: {**facts_panel(session=session), **extra},
        redirect_to=reverse("sessions_app:detail", args=[session.pk]),
        error=error,
        notice=notice,
        trigger=None if extra.get("draft") or notice else STATE_CHANGED,
    )


@login_required
@require_GET
def panel(request, session_id: int):
    session = session_row_for_user(user=request.user, session_id=session_id)
    editing = request.GET.get("editing")
    context = {**facts_panel(session=session), "editing": int(editing) if editing and editing.isdigit() else None}
    return region_response(
        request,
        "facts_app/partials/_what_we_know.html",
        context,
        redirect_to=reverse("sessions_app:detail", args=[session.pk]),
    )


@login_required
@require_POST
def add_note(request, session_id: int):
    session = session_row_for_user(user=request.user, session_id=session_id)
    form = FactForm(request.POST)
    if not form.is_valid():
        return _panel(request, session, error=form_error_message(form), note_draft=form.data.get("text", ""))
    try:
        fact = services.fact_create(session=session, actor=request.user, **form.cleaned_data)
    except (InvalidInput, Conflict) as exc:
        return _panel(request, session, error=exc.message, note_draft=form.cleaned_data["text"])
    if not request.htmx:
        return _panel(request, session)
    # Only what changed: the note, appended to the list, and out of band the counts and an empty form.
    fact_count, lane_count = facts_counts(session=session)
    context = {"session": session, "fact": fact, "fact_count": fact_count, "lane_count": lane_count}
    response = region_response(request, "facts_app/partials/_note_added.html", context, trigger=STATE_CHANGED)
    response["HX-Retarget"] = "#facts_app-facts"
    response["HX-Reswap"] = "beforeend"
    return response


@login_required
@require_POST
def edit(request, session_id: int, fact_id: int):
    session = session_row_for_user(user=request.user, session_id=session_id)
    fact = get_for_account(Fact.objects.live().filter(session=session), account=session.account_id, pk=fact_id)
    fact.session = session
    form = FactForm(request.POST)
    if not form.is_valid():
        return _panel(request, session, error=form_error_message(form), editing=fact.pk)
    try:
        services.fact_update(fact=fact, actor=request.user, **form.cleaned_data)
    except (InvalidInput, Conflict) as exc:
        return _panel(request, session, error=exc.message, editing=fact.pk)
    return _panel(request, session)


@login_required
@require_POST
def delete(request, session_id: int, fact_id: int):
    session = session_row_for_user(user=request.user, session_id=session_id)
    fact = get_for_account(Fact.objects.live().filter(session=session), account=session.account_id, pk=fact_id)
    fact.session = session
    try:
        services.fact_delete(fact=fact, actor=request.user)
    except Conflict as exc:
        return _panel(request, session, error=exc.message)
    return _panel(request, session)


@login_required
@require_POST
def promote(request, session_id: int, item_id: int):
    """From an answered question or check: `action=draft` asks the AI for a draft (nothing saved);
    `action=save` saves the engineer's text or the confirmed (possibly edited) draft."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    item = get_for_account(LaneItem.objects.filter(session=session), account=session.account_id, pk=item_id)
    source_type = Fact.SourceType.QUESTION if item.kind == LaneItem.Kind.QUESTION else Fact.SourceType.DIAGNOSTIC_CHECK
    form = PromoteForm(request.POST)
    # Whatever went wrong, what the engineer had typed comes back in the item's box.
    kept = {"promoting": item.pk, "promote_text": form.data.get("text", "")}
    if form.is_valid() and form.cleaned_data["action"] == "draft":
        try:
            draft = services.fact_draft(session=session, item=item, actor=request.user)
        except services.NothingSubstantive:
            return _panel(
                request,
                session,
                notice=f"No fact could be drawn from this: {item.public_id}'s answer says nothing definite.",
            )
        except (InvalidInput, Conflict) as exc:
            return _panel(request, session, error=exc.message)
        except AIError as exc:
            return _panel(request, session, error=exc.message, retry_draft=item if exc.retryable else None, **kept)
        return _panel(request, session, draft={**draft, "item": item})
    if not form.is_valid() or not form.cleaned_data["text"]:
        error = form_error_message(form) or "Write the fact: one short sentence."
        return _panel(request, session, error=error, **kept)
    try:
        services.fact_create(
            session=session, actor=request.user, text=form.cleaned_data["text"], summary=form.cleaned_data["summary"],
            source_type=source_type, source_ref=item.public_id, ai_drafted=form.cleaned_data["drafted"],
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return _panel(request, session, error=exc.message, **kept)
    return _panel(request, session)


# --- previews: the resolution note and the escalation package ------------------------------------


def _preview_response(request, session, kind: str, *, regenerate: bool):
    """The preview region: the cached draft when nothing changed, else a fresh one; a failed draft
    shows its error with a retry beside the last good draft (which is never dropped)."""
    if not session.is_open:  # not open to this viewer: read-only, or closed
        raise PermissionDenied("Only the session's engineer previews its documents while it is open.")
    form = PreviewForm(request.POST if regenerate else request.GET)
    told = form.cleaned_data if form.is_valid() else {}
    summary = told.get("summary", "")
    intercept, intercept_note = told.get("intercept", ""), told.get("intercept_note", "")
    # A document remembers the input it was drafted from (the resolution text; how the fix went):
    # Resolve and Escalate check it against what they are sent with, so a draft made before the
    # engineer typed or changed it is never posted as it is.
    drafted_from = (
        summary if kind == "resolution_note" else intercept_drafted_from(intercept, intercept_note) if intercept else ""
    )
    context = {"session": session, "kind": kind, "drafted_from": drafted_from}
    try:
        context["preview"] = preview_get(
            session=session, kind=kind, actor=request.user, regenerate=regenerate, resolution_summary=summary,
            intercept=intercept, intercept_note=intercept_note,
        )  # fmt: skip
    except AIError as exc:
        context["error"] = exc.message
        context["preview"] = preview_last_good(session=session, kind=kind)
        context["stale"] = context["preview"] is not None
    return region_response(request, "facts_app/partials/_preview.html", context, page="facts_app/preview_page.html")


@login_required
@require_http_methods(["GET", "POST"])
def preview(request, session_id: int, kind: str):
    """GET: the preview as the session is now. POST: regenerate (a new draft, whatever the cache holds)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    return _preview_response(request, session, kind, regenerate=request.method == "POST")


# --- the handoff assessment --------------------------------------------------------------------


@engineer_required
@require_POST
def assessment_retry(request, session_id: int):
    """Draft the handoff assessment again after it came out unavailable. Like "Start here", open to
    every engineer who may read the handoff; the region answers with the outcome (or says the
    session was picked up meanwhile)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    escalation = escalation_open(session=session)
    if escalation is not None:
        escalation = handoff_assessment_retry(escalation=escalation, actor=request.user)
    return region_response(
        request,
        "sessions_app/partials/_assessment.html",
        lambda: {"gone": True} if escalation is None else handoff_assessment_context(escalation=escalation),
        redirect_to=reverse("sessions_app:handoff", args=[session.pk]),
    )


# --- feedback on AI output (issue 16 §2) ------------------------------------------------------------


@login_required
@require_POST
def vote(request, session_id: int, kind: str, object_id: int):
    """A thumbs up or down (and, for a down, why) on one AI output of a session the user may read.
    Another account's session, or an output not of this session, is a 404. Answers the vote control
    alone, swapped in place."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    object_id = int(object_id)  # a regex route passes text
    form = FeedbackForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.feedback_record(session=session, actor=request.user, kind=kind, object_id=object_id,
                                     **form.cleaned_data)  # fmt: skip
        except InvalidInput as exc:
            error = exc.message
    else:
        services.feedback_target(session=session, kind=kind, object_id=object_id)  # 404 before saying why
        error = form_error_message(form)
    votes = feedback_on_session(session=session, user=request.user)
    key = (kind, object_id)
    context = vote_context(
        session=session,
        kind=kind,
        object_id=object_id,
        mine=votes["mine"].get(key),
        down_count=votes["down"].get(key, 0),
    )
    # The reason form stays open once saved: focus stays on its Save button, and it says so.
    context["why_saved"] = not error and "reason" in request.POST
    return region_response(
        request,
        "facts_app/partials/_vote.html",
        context,
        redirect_to=reverse("sessions_app:detail", args=[session.pk]),
        error=error,
        status=400 if error else 200,
    )
