"""The suggested fix's card and banner, and scripts inside a session. Each action swaps the banner
and the card in place and tells the rest of the page that the state changed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sessions_app.models import AISession, ScriptGeneration, SuggestedFix, TemplateDraft
from sessions_app.selectors import session_get_for_user
from sessions_app.services import fixes, scripts


def fix_context(session: AISession, escalate_form=None, **extra) -> dict:
    """What the card and the banner need (a fixed number of queries)."""
    fix = fixes.fix_active(session=session)
    generations = list(session.script_generations.select_related("template").order_by("-created_at")[:10])
    from sessions_app.selectors import script_templates_for_session

    templates = script_templates_for_session(account_id=session.account_id, team_id=session.team_id, user=session.owner)
    if escalate_form is None:
        from sessions_app.views.escalations import escalate_form_for

        escalate_form = escalate_form_for(session, session.owner, fix=fix)
    return {
        "session": session, "fix": fix, "generations": generations, "script_templates": templates,
        "escalate_form": escalate_form, **extra,
    }  # fmt: skip


def _respond(request, session: AISession, *, error: str = "", changed: bool = True, **extra):
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("sessions_app:detail", session_id=session.pk)
    response = render(request, "sessions_app/partials/_fix_update.html", fix_context(session, fix_error=error, **extra))
    response["Vary"] = "HX-Request"
    return trigger_client_event(response, "state-changed", after="settle") if changed and not error else response


def _fix(request, session_id: int, fix_id: int) -> tuple[AISession, SuggestedFix]:
    session = session_get_for_user(user=request.user, session_id=session_id)
    fix = get_for_account(SuggestedFix.objects.filter(session=session), account=session.account_id, pk=fix_id)
    return session, fix


def _fix_action(request, session_id: int, fix_id: int, act, **on_error) -> object:
    """Load the session's fix (404 for anyone who may not open the session), run one service on
    it, and answer the banner and card — with the service's message when it refuses."""
    session, fix = _fix(request, session_id, fix_id)
    try:
        act(fix)
    except (InvalidInput, Conflict) as exc:
        return _respond(request, session, error=exc.message, **on_error)
    return _respond(request, session)


@login_required
@require_POST
def fix_decide(request, session_id: int, fix_id: int):
    decision = request.POST.get("decision", "")
    return _fix_action(
        request, session_id, fix_id, lambda fix: fixes.fix_decide(fix=fix, actor=request.user, decision=decision)
    )


@login_required
@require_POST
def fix_outcome(request, session_id: int, fix_id: int):
    outcome, note = request.POST.get("outcome", ""), request.POST.get("note", "")
    return _fix_action(
        request, session_id, fix_id,
        lambda fix: fixes.fix_record_outcome(fix=fix, actor=request.user, outcome=outcome, note=note),
    )  # fmt: skip


@login_required
@require_POST
def fix_applied(request, session_id: int, fix_id: int):
    return _fix_action(request, session_id, fix_id, lambda fix: fixes.fix_mark_applied(fix=fix, actor=request.user))


@login_required
@require_POST
def fix_ai_outcome(request, session_id: int, fix_id: int):
    act = fixes.fix_confirm_ai_outcome if request.POST.get("answer") == "confirm" else fixes.fix_reject_ai_outcome
    return _fix_action(request, session_id, fix_id, lambda fix: act(fix=fix, actor=request.user))


@login_required
@require_POST
def fix_script(request, session_id: int, fix_id: int):
    """The script builder saves the engineer's script onto the fix (nothing runs yet)."""
    body = request.POST.get("body", "")
    return _fix_action(
        request, session_id, fix_id,
        lambda fix: scripts.fix_attach_script(fix=fix, actor=request.user, body=body),
        builder_draft=body,
    )  # fmt: skip


@login_required
@require_POST
def fix_script_draft(request, session_id: int, fix_id: int):
    """The builder's AI half: a draft (or a revision of the engineer's draft) to edit, then attach.
    Nothing changes on the session; whatever the engineer had typed comes back if the AI fails."""
    session, fix = _fix(request, session_id, fix_id)
    wish, current = request.POST.get("request", ""), request.POST.get("body", "")
    try:
        draft = scripts.script_draft(fix=fix, actor=request.user, request=wish, current=current)
    except (InvalidInput, Conflict) as exc:
        error = exc.message
    except AIError as exc:
        error = f"{exc.message} Your script is kept; try again."
    else:
        return _respond(
            request, session, changed=False,
            builder_draft=draft["script"], builder_note=draft["explanation"], builder_request=wish,
        )  # fmt: skip
    return _respond(request, session, changed=False, builder_error=error, builder_draft=current, builder_request=wish)


@login_required
@require_POST
def script_generate(request, session_id: int):
    session = session_get_for_user(user=request.user, session_id=session_id)
    try:
        template = scripts.script_template_for_user(
            user=request.user, template_id=int(request.POST.get("template", 0))
        )
    except (ValueError, NotFound):
        return _respond(request, session, error="Pick one of the offered templates.")
    fix = fixes.fix_active(session=session)
    values = {p["key"]: request.POST.get(f"param_{p['key']}", "") for p in template.parameters}
    try:
        generation, full = scripts.script_generate(
            session=session, template=template, actor=request.user, values=values,
            fix=fix if fix and fix.script_template_id == template.pk else None,
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return _respond(request, session, error=exc.message, generate_template=template.pk)
    # The full script (with any secret) is in this one response only; it is never stored.
    return _respond(request, session, generated=generation, generated_script=full)


@login_required
@require_POST
def script_ran(request, session_id: int, generation_id: int):
    session = session_get_for_user(user=request.user, session_id=session_id)
    generation = get_for_account(
        ScriptGeneration.objects.filter(session=session), account=session.account_id, pk=generation_id
    )
    try:
        scripts.script_mark_ran(generation=generation, actor=request.user)
    except Conflict as exc:
        return _respond(request, session, error=exc.message)
    return _respond(request, session)


@login_required
def drafts(request, session_id: int):
    """After Resolve: review each queued template draft."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    pending = list(session.template_drafts.filter(status=TemplateDraft.Status.PENDING).order_by("id"))
    if request.method == "POST":
        draft = get_for_account(
            TemplateDraft.objects.filter(session=session),
            account=session.account_id,
            pk=int(request.POST.get("draft", 0) or 0),
        )
        try:
            if request.POST.get("action") == "accept":
                template = scripts.template_draft_accept(
                    draft=draft, actor=request.user, name=request.POST.get("name", ""),
                    category=request.POST.get("category", ""), description=request.POST.get("description", ""),
                    remove_parameters=request.POST.getlist("remove"), share_with_team=request.POST.get("share") == "on",
                )  # fmt: skip
                messages.success(request, f"Saved “{template.name}” as a template.")
            else:
                scripts.template_draft_reject(
                    draft=draft, actor=request.user, dont_ask_again_for_team=request.POST.get("dont_ask") == "on"
                )
                messages.info(request, "Draft skipped.")
        except (InvalidInput, Conflict, PermissionDenied) as exc:
            messages.error(request, exc.message)
        return redirect("sessions_app:drafts", session_id=session.pk)
    return render(request, "sessions_app/drafts.html", {"session": session, "drafts": pending,
                                                        "can_share": request.user.can_admin})  # fmt: skip
