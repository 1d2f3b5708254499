"""The preview documents (SPEC §6): the resolution note and the escalation package, drafted on the
strong tier from the session's bundle and kept in Django's cache under
(account, kind, session, state_version). Every fact, fix and script write bumps state_version, so
an unchanged session answers from the cache with no AI call and any change is seen at the next
request. The last good draft is kept apart, so a failed draft never leaves the engineer with nothing."""

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from resolutionflow.accounts.models import User
from resolutionflow.ai.client import Subject, ai_json, ai_text
from resolutionflow.ai.errors import AIError
from sessions_app.models import AISession, Escalation, LaneItem, SessionStep, SuggestedFix
from sessions_app.selectors import escalation_needs_intercept, fix_active, handoff_assessment_status, session_lane
from sessions_app.services.escalations import intercept_drafted_from
from sessions_app.services.lifecycle import note_with_code
from sessions_app.services.ticket_pushes import KINDS, register_drafter

from . import prompts
from .models import Fact

PREVIEW_TIMEOUT = 60 * 60 * 24 * 14  # old versions are never asked for again; this only bounds memory
MAX_INTAKE_CHARS = 4000


@dataclass(frozen=True)
class Preview:
    kind: str
    markdown: str
    state_version: int
    generated_at: str
    from_cache: bool


def preview_cache_key(*, account_id: int, kind: str, session_id: int, state_version: int, summary: str = "") -> str:
    """What the engineer is typing (the resolution, how the fix went) is not saved yet, so a draft
    made with it is a variant of the same version, told apart by a digest of the text."""
    key = f"preview:{account_id}:{kind}:{session_id}:{state_version}"
    return f"{key}:{hashlib.sha256(summary.encode()).hexdigest()[:16]}" if summary else key


def _last_good_key(*, account_id: int, kind: str, session_id: int) -> str:
    return f"preview-last:{account_id}:{kind}:{session_id}"


def preview_bundle(
    *, session: AISession, resolution_summary: str = "", intercept: str = "", intercept_note: str = ""
) -> dict:
    """Everything a preview may say, and nothing else: secrets are already redacted in what is
    stored of a script generation, so they cannot reach the AI from here.

    Every input below has writers that bump state_version with it (the cache key), tested one by
    one in facts_app/tests/test_preview_inputs.py:
    - summary, domain, intake: intake.session_start (before any preview exists);
    - ticket: lifecycle.session_link_ticket;
    - facts: facts_app.services fact_create / fact_update / fact_delete, AI promotions;
    - fix: every services.fixes write (propose, decide, outcome, applied, AI outcome, nudge count);
    - fixes_tried: the fixes superseded or dismissed after an outcome (fix_propose, fix_decide);
    - checks_run: turns.lane_item_answer (a check's answer), turns.session_answer_step (an action);
    - scripts: services.scripts script_generate / fix_run_script / script_mark_ran / fix_attach_script /
      fix_template_create;
    - open_items: turns.session_take_turn (each turn's questions and checks);
    - resolution_summary: what the engineer types (part of the key, not the version);
    - resolution_code: lifecycle.session_resolve (with resolution_summary; drafted after it);
    - intercept, intercept_note: how the engineer says the fix went while escalating, before it is
      recorded (part of the key): the fix reads as if it were recorded so."""
    facts = Fact.objects.live().filter(session=session).order_by("created_at", "id")
    fix = session.fixes.filter(superseded_at__isnull=True).first()
    checks = [
        {"check": i.text, "result": i.answer}
        for i in session.lane_items.filter(kind=LaneItem.Kind.CHECK, status=LaneItem.Status.ANSWERED).order_by("id")
    ]
    checks += [
        {"check": s.title, "result": s.response_label}
        for s in session.steps.filter(step_type=SessionStep.StepType.ACTION).exclude(response_kind="").order_by("order")
    ]
    items = list(session.lane_items.order_by("id"))
    lane = session_lane(session=session, items=items)
    scripts = [
        {"name": g.template.name if g.template else "Script", "script": g.script, "parameters": g.parameters,
         "ran": g.ran_at is not None}
        for g in session.script_generations.select_related("template").order_by("created_at", "id")
    ]  # fmt: skip
    return {
        "summary": session.problem_summary,
        "domain": session.problem_domain,
        "intake": session.intake_content[:MAX_INTAKE_CHARS],
        "ticket": session.ticket_label or None,
        "facts": [{"text": f.text, "source": _source(f, items), "summary": f.summary} for f in facts],
        "fix": _fix_as_told(_fix_fields(fix), intercept, intercept_note) if fix else None,
        # A fix replaced or dismissed after it was tried is a path ruled out (or one that worked).
        "fixes_tried": [
            {**_fix_fields(f), "superseded": True}
            for f in session.fixes.filter(superseded_at__isnull=False)
            .exclude(outcome=SuggestedFix.Outcome.PROPOSED, applied_at__isnull=True)
            .select_related("script_template")
            .order_by("created_at", "id")
        ],
        "checks_run": checks,
        "scripts": scripts,
        # The lane's ids (Q1, C2) mean nothing on a ticket: the documents speak in the items' words.
        "open_items": [{"text": i.text} for i in lane["questions"] + lane["checks"]],
        "resolution_summary": session.resolution_summary or resolution_summary or None,
        # Set by Resolve (the same write as resolution_summary); the note shows it as a label.
        "resolution_code": session.resolution_code_label or None,
    }


def _source(fact: Fact, items: list[LaneItem]) -> str:
    """Where a fact came from, in words: the question or check it answers, not its lane id."""
    item = next((i for i in items if i.public_id == fact.source_ref), None) if fact.source_ref else None
    return f"the answer to: {item.text}" if item else fact.get_source_type_display()


def _fix_as_told(fields: dict, intercept: str, note: str) -> dict:
    """The fix as it will read once the intercept answer is recorded (escalate records it first)."""
    if not intercept:
        return fields
    outcome, note = Escalation.Intercept.recorded_as(intercept, note)
    told = {**fields, "outcome": outcome}
    if outcome == "applied_failed":
        told["failure_reason"] = note
    elif outcome == "applied_partial":
        told["partial_notes"] = note
    elif outcome == "proposed":
        told.update(applied_at=None, pending_reason=None, partial_notes=None)
    return told


def _fix_fields(fix) -> dict:
    def stamp(value):
        return value.isoformat() if value else None

    return {
        "title": fix.title,
        "description": fix.description,
        "confidence": fix.confidence,
        "decision": fix.decision or None,
        "outcome": fix.outcome,
        "failure_reason": fix.failure_reason or None,
        "partial_notes": fix.partial_notes or None,
        "pending_reason": fix.pending_reason or None,
        "applied_at": stamp(fix.applied_at),
        "verified_at": stamp(fix.verified_at),
        "script_template": fix.script_template.slug if fix.script_template_id else None,
    }


_OUTER_FENCE = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def preview_get(
    *,
    session: AISession,
    kind: str,
    actor: User,
    regenerate: bool = False,
    resolution_summary: str = "",
    intercept: str = "",
    intercept_note: str = "",
) -> Preview:
    """The preview of `kind` for the session as it is now: from the cache when nothing changed
    (no AI call), else drafted and stored. Raises AIError when a draft fails (nothing is cached).
    `resolution_summary`: what the engineer has typed into Resolve so far (resolution notes only).
    `intercept`, `intercept_note`: how the engineer says the fix went, asked before escalating
    (escalation packages only, and only while the active fix needs that answer)."""
    if kind not in KINDS:
        raise ValueError(kind)
    summary = " ".join(resolution_summary.split())[:5000] if kind == "resolution_note" else ""
    if kind != "escalation_package" or not escalation_needs_intercept(fix_active(session=session)):
        intercept = intercept_note = ""
    told = intercept_drafted_from(intercept, intercept_note) if intercept else ""
    # The version is read before the bundle: a write in between can only make this draft newer
    # than its key, never older.
    version = AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)
    key = preview_cache_key(
        account_id=session.account_id, kind=kind, session_id=session.pk, state_version=version,
        summary=summary or told,
    )  # fmt: skip
    if not regenerate:
        hit = cache.get(key)
        if hit is not None:
            return Preview(kind, hit["markdown"], version, hit["generated_at"], from_cache=True)
    text = ai_text(
        action=kind,
        system=prompts.PREVIEW_SYSTEMS[kind],
        messages=prompts.bundle_message(
            preview_bundle(
                session=session, resolution_summary=summary, intercept=intercept, intercept_note=intercept_note
            ),
            ask="Write the document.",
        ),
        account=session.account,
        user=actor,
        subject=Subject("session", session.pk),
        max_tokens=1500,
    )
    fenced = _OUTER_FENCE.match(text)
    markdown = (fenced.group(1) if fenced else text).strip()
    entry = {"markdown": markdown, "generated_at": timezone.now().isoformat(), "state_version": version}
    cache.set(key, entry, PREVIEW_TIMEOUT)
    cache.set(_last_good_key(account_id=session.account_id, kind=kind, session_id=session.pk), entry, PREVIEW_TIMEOUT)
    return Preview(kind, markdown, version, entry["generated_at"], from_cache=False)


def preview_last_good(*, session: AISession, kind: str) -> Preview | None:
    """The newest draft that succeeded, whatever version it was for (shown beside a failure)."""
    entry = cache.get(_last_good_key(account_id=session.account_id, kind=kind, session_id=session.pk))
    if entry is None:
        return None
    return Preview(kind, entry["markdown"], entry["state_version"], entry["generated_at"], from_cache=True)


@register_drafter
def document_draft(*, session: AISession, kind: str, actor: User) -> str:
    """What sessions_app posts when the engineer gave no text of their own (resolve, escalate).
    A resolved session's note carries its resolution code, whatever the draft said."""
    # A resolution is drafted with the engineer's saved words: a preview drafted before they typed
    # them (cached for this same state version) would post "not recorded yet" to the ticket.
    summary = session.resolution_summary if kind == "resolution_note" else ""
    markdown = preview_get(session=session, kind=kind, actor=actor, resolution_summary=summary).markdown
    if kind == "resolution_note" and session.resolution_code_label:
        markdown = note_with_code(markdown, label=session.resolution_code_label)
    return markdown


def handoff_assess(*, escalation: Escalation, actor: User | None = None, background: bool = True) -> Escalation:
    """The AI assessment on the handoff screen (likely cause, suggested steps, confidence). Run by
    a Celery task with a time limit; a failure leaves it 'unavailable' and the screen still works.
    `actor`: who asked for it, when it is drafted again by hand (else the escalating engineer).
    In the background (the task), an AI that is busy (the account's background share, or the
    provider's pause) raises AIError 'busy' with the assessment still pending: the task retries."""
    session = escalation.session
    try:
        result = ai_json(
            action="handoff_assessment",
            system=prompts.HANDOFF_ASSESSMENT_SYSTEM,
            messages=prompts.bundle_message(
                preview_bundle(session=session), ask="Assess the session.", reason=escalation.reason
            ),
            schema=prompts.HANDOFF_ASSESSMENT_SCHEMA,
            account=session.account,
            user=actor or escalation.escalated_by,
            subject=Subject("session", session.pk),
            max_tokens=800,
            within=settings.HANDOFF_ASSESSMENT_TIMEOUT,
            priority="background" if background else "interactive",
        )
    except AIError as exc:
        if exc.busy and background:
            raise
        return handoff_assessment_unavailable(escalation=escalation, error=exc.MESSAGES.get(exc.kind, str(exc)))
    assessment = {
        "likely_cause": (result.get("likely_cause") or "").strip() or None,
        "suggested_steps": [s.strip() for s in result.get("suggested_steps") or [] if s.strip()][:4],
        "confidence": max(0, min(100, int(result.get("confidence") or 0))),
    }
    Escalation.objects.filter(pk=escalation.pk, assessment_status=Escalation.AssessmentStatus.PENDING).update(
        assessment=assessment, assessment_status=Escalation.AssessmentStatus.READY
    )
    escalation.refresh_from_db()
    return escalation


def handoff_assessment_retry(*, escalation: Escalation, actor: User) -> Escalation:
    """Draft the assessment again, in this request, once the handoff screen shows it unavailable (the
    AI failed, or it never came). Anyone who may read the handoff may ask. A ready assessment, or one
    still being drafted in time, is left as it is; of two clicks at once, one drafts."""
    if (
        escalation.claimed_at is not None
        or handoff_assessment_status(escalation) != Escalation.AssessmentStatus.UNAVAILABLE
    ):
        return escalation
    lock = f"handoff-assessment-retry:{escalation.account_id}:{escalation.pk}"
    if not cache.add(lock, True, timeout=settings.HANDOFF_ASSESSMENT_TIMEOUT + 10):
        return escalation
    try:
        Escalation.objects.filter(pk=escalation.pk, claimed_at__isnull=True).exclude(
            assessment_status=Escalation.AssessmentStatus.READY
        ).update(assessment_status=Escalation.AssessmentStatus.PENDING, assessment_error="")
        escalation.refresh_from_db()
        if escalation.assessment_status != Escalation.AssessmentStatus.PENDING:
            return escalation  # it came in, or the session was picked up, in the meantime
        return handoff_assess(escalation=escalation, actor=actor, background=False)
    finally:
        cache.delete(lock)


def handoff_assessment_unavailable(*, escalation: Escalation, error: str) -> Escalation:
    Escalation.objects.filter(pk=escalation.pk, assessment_status=Escalation.AssessmentStatus.PENDING).update(
        assessment_status=Escalation.AssessmentStatus.UNAVAILABLE, assessment_error=error[:300]
    )
    escalation.refresh_from_db()
    return escalation
