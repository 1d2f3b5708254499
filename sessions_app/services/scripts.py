"""Writes of scripts inside a session (SPEC §5): generation, "I ran this", the builder's script on a
fix, and the template drafts reviewed after Resolve."""

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
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sessions_app.models import AISession, ScriptGeneration, ScriptTemplate, SuggestedFix, TemplateDraft
from sessions_app.powershell import (
    clean_parameter_values,
    placeholder_position_errors,
    redact_values,
    render_script,
    validate_parameter_schema,
)
from sessions_app.prompts import SCRIPT_DRAFT_SCHEMA, SCRIPT_DRAFT_SYSTEM, fence, script_draft_message
from sessions_app.services import fixes
from sessions_app.services.fixes import TEMPLATIZE_OFF_KEY
from sessions_app.services.guards import session_check, session_lock
from sessions_app.services.state import session_bump_state_version

MAX_SCRIPT_CHARS = 50_000


def script_generate(
    *, session: AISession, template: ScriptTemplate, actor: User, values: dict, fix: SuggestedFix | None = None
) -> tuple[ScriptGeneration, str]:
    """Render the template with validated, safely quoted values. Returns the generation (stored
    redacted) and the full script, which the caller shows once to its author and never stores.
    Generating is not running: applied_at is not stamped."""
    session_check(session, actor=actor, conflict="Scripts are generated while the session is open.")
    if template.account_id != session.account_id:
        raise NotFound()
    try:
        clean = clean_parameter_values(template.parameters, values)
    except ValidationError as exc:
        raise InvalidInput(" ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
    full = render_script(template.body, template.parameters, clean)
    with transaction.atomic():
        locked = session_lock(
            session_id=session.pk, actor=actor, conflict="Scripts are generated while the session is open."
        )
        generation = ScriptGeneration.objects.create(
            account_id=locked.account_id,
            session=locked,
            fix=fix,
            template=template,
            author=actor,
            parameters=redact_values(template.parameters, clean),
            script=render_script(template.body, template.parameters, clean, redact=True),
        )
        ScriptTemplate.objects.filter(pk=template.pk).update(usage_count=F("usage_count") + 1)
        # The AI hears of it with the next answer, passwords redacted.
        note = f"The engineer generated a script from template {template.slug!r} with " + json.dumps(
            generation.parameters, ensure_ascii=False, sort_keys=True
        )
        locked.pending_context = "\n".join(filter(None, [locked.pending_context, fence(note, source="script")]))
        locked.save(update_fields=["pending_context"])
        session_bump_state_version(session_id=locked.pk)
    return generation, full


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


@transaction.atomic
def fix_attach_script(*, fix: SuggestedFix, actor: User, body: str) -> SuggestedFix:
    """The script builder saves a script onto a fix that had none (nothing runs yet)."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write the script before saving it.")
    if len(body) > MAX_SCRIPT_CHARS:
        raise InvalidInput("The script is too long (at most 50,000 characters).")
    misplaced = placeholder_position_errors(body)
    if misplaced:
        raise InvalidInput(" ".join(misplaced))
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
    return {"script": draft["script"].strip()[:MAX_SCRIPT_CHARS], "explanation": draft["explanation"].strip()}


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
        raise InvalidInput(" ".join(m for msgs in exc.message_dict.values() for m in msgs)) from None
    session = locked.session
    slug_base = slugify(name)[:100] or "template"
    slug, n = slug_base, 1
    while ScriptTemplate.objects.filter(account_id=session.account_id, slug=slug, deleted_at__isnull=True).exists():
        n += 1
        slug = f"{slug_base}-{n}"
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
