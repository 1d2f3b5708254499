"""Scripts inside a session (SPEC §5): the builder that attaches a script to the fix (the engineer
writes it, or the AI drafts it with them), generating a script from a template, "I ran this",
and the review of queued template drafts after Resolve."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound
from resolutionflow.htmx import STATE_CHANGED, form_error_message, region_response
from sessions_app.forms import DraftDecisionForm, ScriptBuilderForm, ScriptGenerateForm
from sessions_app.models import AISession, ScriptGeneration, SuggestedFix, TemplateDraft
from sessions_app.selectors import fix_active, script_template_for_user, session_fix_context, session_get_for_user
from sessions_app.services import scripts


def _respond(request, session: AISession, *, error: str = "", changed: bool = True, **extra):
    """The banner and the fix card (where the builder, the generate forms and the history live)."""
    return region_response(
        request,
        "sessions_app/partials/_fix_update.html",
        lambda: {**session_fix_context(session=session), "fix_error": error if changed else "", **extra},
        redirect_to=reverse("sessions_app:detail", args=[session.pk]),
        error=error,
        trigger=STATE_CHANGED if changed else None,
    )


def _usable_template(user, template_id: int):
    try:
        return script_template_for_user(user=user, template_id=template_id)
    except NotFound:
        return None


def _fix(request, session_id: int, fix_id: int) -> tuple[AISession, SuggestedFix]:
    session = session_get_for_user(user=request.user, session_id=session_id)
    fix = get_for_account(SuggestedFix.objects.filter(session=session), account=session.account_id, pk=fix_id)
    return session, fix


@login_required
@require_POST
def fix_script(request, session_id: int, fix_id: int):
    """The script builder saves the engineer's script onto the fix (nothing runs yet)."""
    session, fix = _fix(request, session_id, fix_id)
    form = ScriptBuilderForm(request.POST)
    error = "" if form.is_valid() else form_error_message(form)
    if not error:
        try:
            scripts.fix_attach_script(fix=fix, actor=request.user, body=form.cleaned_data["body"])
        except (InvalidInput, Conflict) as exc:
            error = exc.message
    return _respond(request, session, error=error, builder_draft=form.data.get("body", "") if error else "")


@login_required
@require_POST
def fix_script_draft(request, session_id: int, fix_id: int):
    """The builder's AI half: a draft (or a revision of the engineer's draft) to edit, then attach.
    Nothing changes on the session; whatever the engineer had typed comes back if the AI fails."""
    session, fix = _fix(request, session_id, fix_id)
    form = ScriptBuilderForm(request.POST)
    wish, current = form.data.get("request", ""), form.data.get("body", "")
    error = "" if form.is_valid() else form_error_message(form)
    if not error:
        wish, current = form.cleaned_data["request"], form.cleaned_data["body"]
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
    form = ScriptGenerateForm(request.POST, templates=lambda pk: _usable_template(request.user, pk))
    if not form.is_valid():
        picked = form.template.pk if form.template else None
        return _respond(request, session, error=form_error_message(form), generate_template=picked)
    template = form.cleaned_data["template"]
    fix = fix_active(session=session)
    try:
        generation, full = scripts.script_generate(
            session=session, template=template, actor=request.user, values=form.parameter_values(),
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
@require_http_methods(["GET", "POST"])
def drafts(request, session_id: int):
    """After Resolve: review each queued template draft."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    if request.method == "POST":
        form = DraftDecisionForm(request.POST, session=session)
        if not form.is_valid():
            messages.error(request, form_error_message(form))
            return redirect("sessions_app:drafts", session_id=session.pk)
        data = form.cleaned_data
        try:
            if data["action"] == "accept":
                template = scripts.template_draft_accept(
                    draft=data["draft"], actor=request.user, name=data["name"], category=data["category"],
                    description=data["description"], remove_parameters=data["remove"], share_with_team=data["share"],
                )  # fmt: skip
                messages.success(request, f"Saved “{template.name}” as a template.")
            else:
                scripts.template_draft_reject(
                    draft=data["draft"], actor=request.user, dont_ask_again_for_team=data["dont_ask"]
                )
                messages.info(request, "Draft skipped.")
        except (InvalidInput, Conflict) as exc:
            messages.error(request, exc.message)
        return redirect("sessions_app:drafts", session_id=session.pk)
    pending = list(session.template_drafts.filter(status=TemplateDraft.Status.PENDING).order_by("id"))
    return render(request, "sessions_app/drafts.html", {"session": session, "drafts": pending,
                                                        "can_share": request.user.can_admin})  # fmt: skip
