"""The L1 walk pages (SPEC §7): the dashboard with the intake, and the walk page built for a
phone. Thin: resolve the walk through the selector (404 for anyone who may not open it), bind a
form, call one service, answer the page or the walk region (`#l1_app-walk`)."""

import math

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from flywheel_app.selectors import flow_match
from l1_app import selectors
from l1_app.forms import AnswerForm, EscalateForm, NotesForm, ResolveForm, UseFlowForm, WalkIntakeForm
from l1_app.models import Walk, WalkPush
from l1_app.nodes import ESCALATE, RESOLVED, escalation_category_for
from l1_app.services import builder, intake, walk_pushes, walks
from resolutionflow.accounts.tenancy import get_for_account, l1_required
from resolutionflow.errors import Conflict, InvalidInput
from resolutionflow.htmx import form_error_message, region_response

REGION = "l1_app/partials/_walk.html"


def _walk(request, walk_id: int) -> Walk:
    return selectors.walk_get_for_user(user=request.user, walk_id=walk_id)


def _detail(walk: Walk) -> str:
    return reverse("l1_app:detail", args=[walk.pk])


@l1_required
@require_GET
def home(request):
    return _home(request, WalkIntakeForm(account=request.user.account_id))


def _home(request, form, *, decision=None, status=200):
    in_progress = Paginator(selectors.walks_in_progress(user=request.user), 10).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "decision": decision,
        "in_progress": in_progress,
        "recent": selectors.walks_recent(user=request.user),
        "is_coverage": request.user.l1_acting_as == "l1_coverage",
    }
    return render(request, "l1_app/home.html", context, status=status)


@l1_required
@require_POST
def walk_start(request):
    """Intake. "auto" lets the app decide (a flow ≥ 0.75 starts, 0.60–0.75 is suggested, else the
    category decides); the tech can always pick a flow, walk ad hoc, force a build or escalate."""
    form = WalkIntakeForm(request.POST, account=request.user.account_id)
    if not form.is_valid():
        return _home(request, form, status=400)
    data = form.cleaned_data
    how = data["how"]
    if how in ("auto", "classify"):
        decision = intake.walk_dispatch(user=request.user, problem=data["problem"], match_flows=how == "auto")
        if decision.outcome == "flow":
            return _start(request, data, kind=Walk.Kind.FLOW, flow=decision.flow)
        if decision.outcome == "build":
            return _start(request, data, kind=Walk.Kind.AI_BUILT, category=decision.category)
        # A suggestion, or out of scope: the tech decides, the problem stays in the form.
        return _home(request, form, decision=decision)
    if how == "flow":
        return _start(request, data, kind=Walk.Kind.FLOW, flow=data["flow"])
    if how == "proposal":
        return _start(request, data, kind=Walk.Kind.PROPOSAL, proposal=data["proposal"])
    if how == "build":
        category = (
            data["category"]
            or intake.walk_dispatch(user=request.user, problem=data["problem"], match_flows=False).category
        )
        return _start(request, data, kind=Walk.Kind.AI_BUILT, category=category)
    if how == "escalate":
        walk = _create(request, data, kind=Walk.Kind.AD_HOC)
        walks.walk_escalate(
            walk=walk,
            actor=request.user,
            category=Walk.EscalationCategory.OUT_OF_SCOPE,
            reason=data["reason"].strip() or "Escalated at intake: the problem is outside what L1 may walk.",
        )
        messages.info(request, "Escalated. The engineers have been told.")
        return redirect(_detail(walk))
    return _start(request, data, kind=Walk.Kind.AD_HOC)


def _create(request, data, **kwargs) -> Walk:
    return intake.walk_start(
        user=request.user,
        problem=data["problem"],
        internal_ticket=data["internal_ticket"] if data["ticket_kind"] == "internal" else None,
        new_internal_ticket=data["ticket_kind"] == "new",
        psa_ticket_ref=data["psa_ticket_ref"] if data["ticket_kind"] == "psa" else "",
        customer_name=data["customer_name"],
        customer_contact=data["customer_contact"],
        intake_key=data["intake_key"],
        **kwargs,
    )


def _start(request, data, **kwargs):
    # The walk is saved; an AI-built walk's first node is asked for by its page, with the wait
    # shown there (and an AI failure shown there with the ways on), not inside this form post.
    walk = _create(request, data, **kwargs)
    return redirect(_detail(walk))


@l1_required
@require_GET
def walk_detail(request, walk_id: int):
    walk = _walk(request, walk_id)
    return region_response(request, REGION, lambda: _context(request, walk), page="l1_app/walk.html")


def _context(request, walk: Walk, **extra) -> dict:
    steps = list(walk.steps.order_by("order"))
    current = steps[-1] if steps and not steps[-1].answered and walk.is_active else None
    path = [s for s in steps if s.answered]
    node_type = current.node.get("type") if current else ""
    building = walk.is_active and walk.kind == Walk.Kind.AI_BUILT and current is None and not walk.build_problem
    resolve_form = extra.pop("resolve_form", None) or ResolveForm(
        initial={"helpful": "yes" if node_type == RESOLVED else None,
                 "notes": current.node.get("text", "") if node_type == RESOLVED else ""}
    )  # fmt: skip
    escalate_form = extra.pop("escalate_form", None) or EscalateForm(
        initial={
            "category": escalation_category_for(current.node.get("reason", "")) if node_type == ESCALATE else None,
            "reason": current.node.get("reason", "") if node_type == ESCALATE else "",
        }
    )
    # When the AI could build nothing: the nearest flows are one of the ways on.
    stuck = (
        walk.is_active
        and walk.kind == Walk.Kind.AI_BUILT
        and (bool(walk.build_problem) or (node_type == ESCALATE and not path))
    )
    # Switching to a flow is only offered before any answer (the service refuses it after).
    nearest = [m.flow for m in flow_match(account=walk.account_id, text=walk.problem)] if stuck and not path else []
    return {
        "walk": walk,
        "current": current,
        "path": path,
        "building": building,
        "stuck": stuck,
        "nearest": nearest,
        "resolve_form": resolve_form,
        "escalate_form": escalate_form,
        "resolve_open": node_type == RESOLVED,
        "escalate_open": node_type == ESCALATE,
        "is_coverage": walk.acting_as == "l1_coverage",
        # Another request holds a live lease: wait for its node. A lease left behind by a request that
        # died has run out: the page asks for the node again (which takes a new lease).
        "poll_building": bool(walk.building_until and walk.building_until > timezone.now()),
        # The AI was busy: the seconds before the page asks for the node again by itself.
        "build_busy": (
            max(1, math.ceil((walk.build_retry_at - timezone.now()).total_seconds()))
            if walk.build_problem and walk.build_retry_at
            else None
        ),
        **extra,
    }


@l1_required
@require_POST
def walk_answer(request, walk_id: int, node_id: str):
    """Record the answer (once, however often it comes), then serve the next node: a flow's at
    once, an AI-built walk's from the AI (the answer is saved first)."""
    walk = _walk(request, walk_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _region(request, walk, error=form_error_message(form))
    try:
        walks.walk_answer(walk=walk, node_id=node_id, actor=request.user, **form.cleaned_data)
    except (InvalidInput, Conflict) as exc:
        return _region(request, walk, error=exc.message)
    walk.refresh_from_db()
    if walk.kind == Walk.Kind.AI_BUILT and walk.is_active:
        try:
            builder.walk_build_next(walk=walk, actor=request.user)
        except Conflict as exc:  # the walk finished between the answer and the build
            return _region(request, walk, error=exc.message)
    return _region(request, walk)


@l1_required
@require_POST
def walk_next(request, walk_id: int):
    """Build (or replay) the next node of an AI-built walk: the page's retry, and the request a
    page makes when it finds no node waiting."""
    walk = _walk(request, walk_id)
    try:
        builder.walk_build_next(walk=walk, actor=request.user)
    except Conflict as exc:
        return _region(request, walk, error=exc.message)
    walk.refresh_from_db()
    return _region(request, walk)


@l1_required
@require_POST
def walk_notes(request, walk_id: int):
    """Autosave: answers a small status line (HTMX) — "Saved" or why not."""
    walk = _walk(request, walk_id)
    form = NotesForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            walk = walks.walk_notes_save(walk=walk, notes=form.cleaned_data["notes"], actor=request.user)
        except (InvalidInput, Conflict) as exc:
            error = exc.message
    else:
        error = form_error_message(form)
    return region_response(
        request,
        "l1_app/partials/_notes_status.html",
        {"walk": walk, "error": error, "saved": not error},
        redirect_to=_detail(walk),
        error=error,
        notice="Notes saved.",
        status=400 if error and not request.htmx else 200,
    )


@l1_required
@require_POST
def walk_ad_hoc(request, walk_id: int):
    walk = _walk(request, walk_id)
    try:
        walk = walks.walk_switch_to_ad_hoc(walk=walk, actor=request.user)
    except Conflict as exc:
        return _region(request, walk, error=exc.message)
    return _region(request, walk, notice="Walking ad hoc: write what you try in the notes.")


@l1_required
@require_POST
def walk_use_flow(request, walk_id: int):
    walk = _walk(request, walk_id)
    form = UseFlowForm(request.POST, account=request.user.account_id)
    if not form.is_valid():
        return _region(request, walk, error=form_error_message(form))
    flow = form.cleaned_data["flow"]
    try:
        walk = walks.walk_switch_to_flow(walk=walk, flow=flow, actor=request.user)
    except (InvalidInput, Conflict) as exc:
        return _region(request, walk, error=exc.message)
    return _region(request, walk, notice=f"Walking the flow “{flow.title}”.")


@l1_required
@require_POST
def walk_resolve(request, walk_id: int):
    return _finish(request, walk_id, ResolveForm, walks.walk_resolve, "resolve", "Resolved. Thank you.")


@l1_required
@require_POST
def walk_escalate(request, walk_id: int):
    return _finish(request, walk_id, EscalateForm, walks.walk_escalate, "escalate",
                   "Escalated. The engineers have been told.")  # fmt: skip


def _finish(request, walk_id: int, form_class, service, name: str, notice: str):
    """Resolve or escalate: a refused form comes back open, with what was typed and why."""
    walk = _walk(request, walk_id)
    form = form_class(request.POST)
    kept = {f"{name}_form": form, f"{name}_open": True}
    if not form.is_valid():
        return _region(request, walk, error=form_error_message(form), **kept)
    try:
        walk = service(walk=walk, actor=request.user, **form.cleaned_data)
    except (InvalidInput, Conflict) as exc:
        return _region(request, walk, error=exc.message, **kept)
    return _region(request, walk, notice=notice)


def _region(request, walk: Walk, *, error: str = "", notice: str = "", **extra):
    walk.refresh_from_db()
    return region_response(
        request,
        REGION,
        lambda: _context(request, walk, **extra),
        redirect_to=_detail(walk),
        error=error,
        notice=notice,
        status=400 if error and not request.htmx else 200,
    )


@l1_required
@require_POST
def walk_push_retry(request, walk_id: int):
    """Retry posting a finished walk to its PSA ticket, by hand."""
    walk = _walk(request, walk_id)
    push = get_for_account(WalkPush, account=request.user.account_id, walk=walk)
    try:
        push = walk_pushes.walk_push_retry(push=push, actor=request.user)
    except Conflict as exc:
        return _region(request, walk, error=exc.message)
    if push.status == WalkPush.Status.POSTED:
        return _region(request, walk, notice="Posted to the ticket.")
    return _region(request, walk, error=f"Still not posted: {push.error}")
