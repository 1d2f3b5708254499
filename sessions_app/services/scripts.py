"""Writes of scripts inside a session (SPEC §5): generation, running the fix's script (one-off, or now
and templatize after), "I ran this", the builder's script on a fix, the template built first, and
the template drafts reviewed after Resolve."""

import json
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from resolutionflow.accounts.models import ADMIN_ROLES, User
from resolutionflow.accounts.services import account_settings_get, account_settings_update, audit_record
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.fences import fence
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sessions_app.models import AISession, ScriptGeneration, ScriptTemplate, SuggestedFix, TemplateDraft
from sessions_app.powershell import (
    clean_parameter_values,
    parameters_from_placeholders,
    placeholder_position_errors,
    redact_values,
    render_script,
    validate_parameter_schema,
)
from sessions_app.prompts import SCRIPT_DRAFT_SCHEMA, SCRIPT_DRAFT_SYSTEM, script_draft_message
from sessions_app.services import fixes
from sessions_app.services.fixes import TEMPLATIZE_OFF_KEY
from sessions_app.services.guards import session_check, session_lock
from sessions_app.services.state import session_bump_state_version

MAX_SCRIPT_CHARS = 50_000


def _invalid(exc: ValidationError) -> InvalidInput:
    """A model or schema ValidationError as the one message the page shows."""
    return InvalidInput(" ".join(m for msgs in exc.message_dict.values() for m in msgs))


def _clean_values(parameters: list[dict], values: dict) -> dict:
    try:
        return clean_parameter_values(parameters, values)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _record_generation(
    *,
    session: AISession,
    fix: SuggestedFix | None,
    template: ScriptTemplate | None,
    actor: User,
    body: str,
    parameters: list[dict],
    values: dict,
) -> ScriptGeneration:
    """Inside the caller's transaction, with the session locked: the generation (redacted), the
    template's usage, the note the AI reads with the next answer, and the bump."""
    generation = ScriptGeneration.objects.create(
        account_id=session.account_id,
        session=session,
        fix=fix,
        template=template,
        author=actor,
        parameters=redact_values(parameters, values),
        script=render_script(body, parameters, values, redact=True),
    )
    if template is not None:
        ScriptTemplate.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
    # The AI hears of it with the next answer, passwords redacted.
    source = f"template {template.slug!r}" if template is not None else "the fix's script"
    note = f"The engineer generated a script from {source} with " + json.dumps(
        generation.parameters, ensure_ascii=False, sort_keys=True
    )
    session.pending_context = "\n".join(filter(None, [session.pending_context, fence(note, source="script")]))
    session.save(update_fields=["pending_context"])
    session_bump_state_version(session_id=session.pk)
    return generation


def script_generate(
    *, session: AISession, template: ScriptTemplate, actor: User, values: dict, fix: SuggestedFix | None = None
) -> tuple[ScriptGeneration, str]:
    """Render the template with validated, safely quoted values. Returns the generation (stored
    redacted) and the full script, which the caller shows once to its author and never stores.
    Generating is not running: applied_at is not stamped."""
    session_check(session, actor=actor, conflict="Scripts are generated while the session is open.")
    if template.account_id != session.account_id:
        raise NotFound()
    clean = _clean_values(template.parameters, values)
    full = render_script(template.body, template.parameters, clean)
    with transaction.atomic():
        locked = session_lock(
            session_id=session.pk, actor=actor, conflict="Scripts are generated while the session is open."
        )
        generation = _record_generation(
            session=locked, fix=fix, template=template, actor=actor, body=template.body,
            parameters=template.parameters, values=clean,
        )  # fmt: skip
    return generation, full


@transaction.atomic
def fix_run_script(*, fix: SuggestedFix, actor: User, values: dict) -> tuple[ScriptGeneration, str]:
    """Run as one-off, or run now and templatize after resolve (SPEC §4, §5): the fix's script,
    rendered with validated, safely quoted values, is recorded as a generation and the fix is
    applied (running it this way says it ran); "templatize after" queues the draft offered after
    Resolve. Bad values change nothing. Returns the generation (stored redacted) and the full
    script, which the caller shows once to its author and never stores."""
    locked = fixes.fix_lock_active(fix=fix, actor=actor)
    if not locked.has_script:
        raise Conflict("This fix has no script to run. Build one, or apply it by hand.")
    if locked.applied_at is not None:
        raise Conflict("This fix is already applied; tell us how it went in the banner.")
    if not locked.waits_for_parameters:
        raise Conflict("Choose how to apply the fix first: run it as a one-off, or run it now and templatize after.")
    parameters, body = locked.script_schema, locked.script_text
    clean = _clean_values(parameters, values)
    generation = _record_generation(
        session=locked.session, fix=locked, template=locked.script_template, actor=actor, body=body,
        parameters=parameters, values=clean,
    )  # fmt: skip
    fixes.fix_mark_applied(fix=locked, actor=actor)
    if locked.decision == SuggestedFix.Decision.DRAFT_TEMPLATE:
        fixes.template_draft_queue(fix=locked, actor=actor)
    audit_record(
        account=locked.session.account, actor=actor, action="fix.run", obj=locked,
        details={"decision": locked.decision, "generation": generation.pk},
    )  # fmt: skip
    return generation, render_script(body, parameters, clean)


@transaction.atomic
def script_mark_ran(*, generation: ScriptGeneration, actor: User) -> ScriptGeneration:
    """'I ran this': the script really ran; the fix it belongs to is applied."""
    session = session_lock(session_id=generation.session_id, actor=actor)
    locked = ScriptGeneration.objects.select_for_update(of=("self",)).select_related("fix").get(pk=generation.pk)
    locked.session = session
    if locked.ran_at is None:
        locked.ran_at = timezone.now()
        locked.save(update_fields=["ran_at"])
        session_bump_state_version(session_id=locked.session_id)
    if locked.fix is not None and locked.fix.superseded_at is None:
        fixes.fix_mark_applied(fix=locked.fix, actor=actor)
    return locked


def _check_script(body: str, parameters: list[dict]) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write the script before saving it.")
    if len(body) > MAX_SCRIPT_CHARS:
        raise InvalidInput("The script is too long (at most 50,000 characters).")
    try:
        validate_parameter_schema(parameters, body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return body


@transaction.atomic
def fix_attach_script(*, fix: SuggestedFix, actor: User, body: str) -> SuggestedFix:
    """The script builder saves a script onto a fix that had none (nothing runs yet). Each of its
    {{ key }} placeholders becomes a parameter with a field (`SuggestedFix.script_schema`); one that
    stands in a string or a comment, where its value could run as code, is refused."""
    body = _check_script(body, parameters_from_placeholders((body or "").strip()))
    session = session_lock(session_id=fix.session_id, actor=actor)
    locked = SuggestedFix.objects.select_for_update().get(pk=fix.pk)
    locked.session = session
    if locked.superseded_at is not None:
        raise Conflict("This fix is no longer the active one.")
    locked.script_body = body
    locked.save(update_fields=["script_body"])
    session_bump_state_version(session_id=locked.session_id)
    return locked


def script_draft(*, fix: SuggestedFix, actor: User, request: str = "", current: str = "") -> dict:
    """The builder's AI half: draft (or revise the engineer's current draft of) a script for a fix
    that has none. Nothing is saved — the engineer edits the draft and attaches it themselves."""
    request, current = (request or "").strip(), current or ""
    if len(request) > 2000:
        raise InvalidInput("Say what the script should do in at most 2,000 characters.")
    if len(current) > MAX_SCRIPT_CHARS:
        raise InvalidInput("The script is too long (at most 50,000 characters).")
    fix = SuggestedFix.objects.select_related("session__account").get(pk=fix.pk)  # as it is now
    session = fix.session
    session_check(session, actor=actor, conflict="This session is closed.")
    if fix.superseded_at is not None:
        raise Conflict("This fix is no longer the active one.")
    draft = ai_json(
        action="script_draft",
        system=SCRIPT_DRAFT_SYSTEM,
        messages=script_draft_message(fix=fix, request=request, current=current),
        schema=SCRIPT_DRAFT_SCHEMA,
        account=session.account,
        user=actor,
        subject=Subject("session", session.pk),
        max_tokens=2000,
    )
    script = draft["script"].strip()[:MAX_SCRIPT_CHARS]
    # What attaching it would refuse, said now: the engineer fixes it before attaching.
    return {"script": script, "explanation": draft["explanation"].strip(),
            "problems": placeholder_position_errors(script)}  # fmt: skip


@transaction.atomic
def fix_template_create(
    *,
    fix: SuggestedFix,
    actor: User,
    name: str,
    body: str,
    parameters: list[dict],
    category: str = "",
    description: str = "",
    share_with_team: bool = False,
) -> ScriptTemplate:
    """Build a template first (SPEC §5): the engineer's template, from the editor, is saved and
    attached to the fix, whose parameter form then asks for its values. Nothing runs."""
    locked = fixes.fix_lock_active(fix=fix, actor=actor)
    if share_with_team and actor.role not in ADMIN_ROLES:
        raise PermissionDenied("Only owners and admins share a template with a team.")
    name = " ".join((name or "").split())[:120]
    if not name:
        raise InvalidInput("Give the template a name.")
    body = _check_script(body, parameters)
    session = locked.session
    template = ScriptTemplate(
        account_id=session.account_id,
        team=session.team if share_with_team else None,
        owner=actor,
        visibility=ScriptTemplate.Visibility.TEAM if share_with_team else ScriptTemplate.Visibility.PERSONAL,
        name=name,
        slug=_free_slug(account_id=session.account_id, name=name),
        category=" ".join((category or "").split())[:60],
        description=(description or "").strip()[:2000],
        body=body,
        parameters=parameters,
        provenance=f"from {session.ticket_label or f'session #{session.pk}'} · built by {actor.get_short_name()}",
        source_session=session,
    )
    try:
        template.full_clean()
    except ValidationError as exc:
        raise _invalid(exc) from None
    template.save()
    keys = {p["key"] for p in parameters}
    locked.script_template = template
    # What the AI had filled in for the old script stays only where the new one asks for it.
    locked.script_parameters = {k: v for k, v in (locked.script_parameters or {}).items() if k in keys}
    locked.decision = SuggestedFix.Decision.BUILD_TEMPLATE
    locked.decided_at = timezone.now()
    locked.save(update_fields=["script_template", "script_parameters", "decision", "decided_at"])
    session_bump_state_version(session_id=session.pk)
    audit_record(account=session.account, actor=actor, action="script_template.create", obj=template,
                 details={"fix": locked.pk})  # fmt: skip
    return template


def _free_slug(*, account_id: int, name: str) -> str:
    """A slug for `name` no live template of the account has yet."""
    base = slugify(name) or "template"
    if len(base) > 50:  # a slug is a handle: cut at a word
        base = base[:50].rsplit("-", 1)[0]
    slug, n = base, 1
    while ScriptTemplate.objects.filter(account_id=account_id, slug=slug, deleted_at__isnull=True).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _decide(draft: TemplateDraft, actor: User) -> TemplateDraft:
    session = session_lock(
        session_id=draft.session_id, actor=actor, states=(AISession.Status.RESOLVED,), admins_too=True,
        conflict="Drafts are reviewed once the session is resolved.", related=("owner", "internal_ticket", "account"),
    )  # fmt: skip
    locked = TemplateDraft.objects.select_for_update().get(pk=draft.pk)
    locked.session = session
    if locked.status != TemplateDraft.Status.PENDING:
        raise Conflict(f"This draft was already decided ({locked.get_status_display().lower()}).")
    return locked


@transaction.atomic
def template_draft_accept(
    *,
    draft: TemplateDraft,
    actor: User,
    name: str,
    category: str = "",
    description: str = "",
    remove_parameters: list[str] | None = None,
    share_with_team: bool = False,
) -> ScriptTemplate:
    locked = _decide(draft, actor)
    if share_with_team and actor.role not in ADMIN_ROLES:
        raise PermissionDenied("Only owners and admins share a template with a team.")
    name = " ".join((name or "").split())[:120]
    if not name:
        raise InvalidInput("Give the template a name.")
    removed = set(remove_parameters or [])
    parameters = [p for p in locked.parameters if p.get("key") not in removed]
    body = locked.body
    for key in removed:
        # A removed parameter's placeholder becomes an empty string literal in the body.
        body = re.sub(r"\{\{\s*" + re.escape(key) + r"\s*\}\}", "''", body)
    try:
        validate_parameter_schema(parameters, body)
    except ValidationError as exc:
        raise _invalid(exc) from None
    session = locked.session
    slug = _free_slug(account_id=session.account_id, name=name)
    template = ScriptTemplate.objects.create(
        account_id=session.account_id,
        team=session.team if share_with_team else None,
        owner=actor,
        visibility=ScriptTemplate.Visibility.TEAM if share_with_team else ScriptTemplate.Visibility.PERSONAL,
        name=name,
        slug=slug,
        category=(category or "").strip()[:60],
        description=(description or "").strip()[:2000],
        body=body,
        parameters=parameters,
        provenance=_provenance(session),
        source_session=session,
    )
    locked.status = TemplateDraft.Status.ACCEPTED
    locked.decided_at = timezone.now()
    locked.decided_by = actor
    locked.template = template
    locked.save(update_fields=["status", "decided_at", "decided_by", "template"])
    audit_record(account=session.account, actor=actor, action="template_draft.accept", obj=locked)
    return template


def _provenance(session: AISession) -> str:
    where = session.ticket_label or f"session #{session.pk}"
    return f"from {where} · resolved by {session.owner.get_short_name()}"


@transaction.atomic
def template_draft_reject(*, draft: TemplateDraft, actor: User, dont_ask_again_for_team: bool = False) -> TemplateDraft:
    locked = _decide(draft, actor)
    locked.status = TemplateDraft.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = actor
    locked.save(update_fields=["status", "decided_at", "decided_by"])
    if dont_ask_again_for_team and locked.session.team_id:
        prefs = account_settings_get(account=locked.session.account).preferences
        off = sorted(set(prefs.get(TEMPLATIZE_OFF_KEY, [])) | {locked.session.team_id})
        account_settings_update(account=locked.session.account, changes={TEMPLATIZE_OFF_KEY: off}, actor=actor)
    audit_record(account=locked.session.account, actor=actor, action="template_draft.reject", obj=locked)
    return locked
