"""Scripts inside a session (SPEC §5): running the fix's script from its parameter form, the
template editor of "build a template first", the builder that attaches a script to the fix (the
engineer writes it, or the AI drafts it with them), generating a script from a template, "I ran
this", and the review of queued template drafts after Resolve."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, NotFound
from resolutionflow.htmx import STATE_CHANGED, form_error_message, region_response
from sessions_app.forms import (
    DraftDecisionForm,
    ScriptBuilderForm,
    ScriptGenerateForm,
    ScriptParametersForm,
    TemplateEditorForm,
)
from sessions_app.models import AISession, ScriptGeneration, SuggestedFix, TemplateDraft
from sessions_app.page import session_page
from sessions_app.selectors import fix_active, script_template_for_user, session_fix_context, session_get_for_user
from sessions_app.services import scripts
from sessions_app.services.guards import session_check


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
    fix = get_for_account(
        SuggestedFix.objects.filter(session=session).select_related("script_template"),
        account=session.account_id,
        pk=fix_id,
    )
    return session, fix


def _shown_once(request, session: AISession, generation: ScriptGeneration, full: str):
    """The script just rendered, with any secret in it: in this one response only, never stored.
    Without JavaScript the whole page carries it (a redirect would lose it)."""
    if request.htmx:
        return _respond(request, session, generated=generation, generated_script=full)
    return session_page(request, session, generated=generation, generated_script=full)


@login_required
@require_POST
def fix_run(request, session_id: int, fix_id: int):
    """Run as one-off / run now, templatize after: the parameter form's values render the fix's
    script (shown once, with Copy), and the fix is applied. Bad values come back beside their
    fields and change nothing."""
    session, fix = _fix(request, session_id, fix_id)
    form = ScriptParametersForm(request.POST, parameters=fix.script_schema)
    if form.is_valid():
        try:
            generation, full = scripts.fix_run_script(fix=fix, actor=request.user, values=form.values())
        except (InvalidInput, Conflict) as exc:
            return _respond(request, session, error=exc.message)
        return _shown_once(request, session, generation, full)
    if not request.htmx:
        return session_page(request, session, status=400, run_form=form)
    return _respond(request, session, changed=False, run_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def fix_template(request, session_id: int, fix_id: int):
    """Build a template first: the template editor, filled in from the fix's script (name from its
    title, the body, a parameter per placeholder). Nothing runs; saving creates the template,
    attaches it to the fix and returns to the session, where the fix asks for its parameters."""
    session, fix = _fix(request, session_id, fix_id)
    session_check(session, actor=request.user, conflict="Templates are built while the session is open.")
    can_share = request.user.can_admin
    status, notice = 200, ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        rows, new = TemplateEditorForm.rows_for(body, request.POST)
        if new or request.POST.get("action") == "refresh":
            # Placeholders written since the rows were drawn: show their rows before saving anything.
            initial = {**request.POST.dict(), **_row_initial(rows, new)}
            form = TemplateEditorForm(initial=initial, parameters=rows, can_share=can_share)
            notice = _new_rows_notice(new)
        else:
            form = TemplateEditorForm(request.POST, parameters=rows, can_share=can_share)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    template = scripts.fix_template_create(
                        fix=fix, actor=request.user, name=data["name"], body=data["body"],
                        parameters=form.parameters(), category=data["category"], description=data["description"],
                        share_with_team=data.get("share", False),
                    )  # fmt: skip
                except InvalidInput as exc:
                    form.add_error(exc.field or "body", exc.message)
                else:
                    messages.success(
                        request,
                        f"Saved “{template.name}” as a template and attached it to the fix. "
                        "Fill in its parameters to get the script.",
                    )
                    return redirect(reverse("sessions_app:detail", args=[session.pk]) + "#sessions_app-fix-card")
            status = 400
    else:
        form = TemplateEditorForm(initial=_editor_initial(session, fix), parameters=fix.script_schema,
                                  can_share=can_share)  # fmt: skip
    return render(
        request, "sessions_app/fix_template.html",
        {"session": session, "fix": fix, "form": form, "notice": notice}, status=status,
    )  # fmt: skip


def _editor_initial(session: AISession, fix: SuggestedFix) -> dict:
    domain = session.get_problem_domain_display() if session.problem_domain not in ("", "other") else ""
    return {"name": fix.title[:120].rstrip(". "), "description": fix.description[:2000], "body": fix.script_text,
            "category": domain[:60]}  # fmt: skip


def _row_initial(rows: list[dict], new: list[str]) -> dict:
    """The derived values of the rows just added (the others keep what was sent)."""
    out = {}
    for row in rows:
        if row["key"] in new:
            out.update({f"p_{row['key']}_label": row["label"], f"p_{row['key']}_type": row["type"],
                        f"p_{row['key']}_required": row["required"]})  # fmt: skip
    return out


def _new_rows_notice(new: list[str]) -> str:
    if not new:
        return "Parameters updated from the script."
    keys = ", ".join(f"{{{{ {k} }}}}" for k in new)
    return f"The script has new placeholders ({keys}): check their parameters below, then save."


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
                builder_problems=draft["problems"],
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
    return _shown_once(request, session, generation, full)


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
