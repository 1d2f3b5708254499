"""The analysis job (SPEC §8): resolved sessions become flow proposals, or reinforce their flow.

A batch is claimed in one short transaction — `select_for_update(skip_locked=True)`, marked
`processing` — so two workers (or two beats) never take the same session; each is then analysed in
its own transaction, which finishes only while its claim still holds. A claim left by a killed
worker is taken back after FLYWHEEL_CLAIM_TIMEOUT. A failure (the AI, an answer we cannot read, a
tree that does not validate) is recorded with its error and retried with backoff, at most
FLYWHEEL_MAX_ATTEMPTS times; nothing of a failed analysis is saved. Every claim is an attempt, so a
session whose worker keeps dying stops too. An unexpected error fails its session, not the batch;
a batch out of time hands its unstarted claims back at once. A session whose proposal would pass
the account's daily cap waits, unanalysed (no attempt counted), for the next day.

The one module of flywheel_app allowed to read sessions and their facts (.importlinter)."""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from facts_app.models import Fact
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai import budget
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from sessions_app.models import CODES_WITHOUT_FLOW, AISession, SessionStep, SuggestedFix

from . import prompts, services
from .models import FlowProposal
from .trees import TreeError, tree_with_stubs, validate_tree

if TYPE_CHECKING:
    from .analytics.gaps import Gap

logger = logging.getLogger(__name__)
A = AISession.AnalysisStatus
BACKOFF = timedelta(minutes=5)  # then 10, 20…


@dataclass
class BatchResult:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _stale(now: datetime) -> Q:
    """A claim its worker never finished (killed, lost); its claim already counted as an attempt."""
    return Q(
        analysis_status=A.PROCESSING, analysis_started_at__lt=now - timedelta(seconds=settings.FLYWHEEL_CLAIM_TIMEOUT)
    )


def _waiting(now: datetime) -> Q:
    due = Q(analysis_retry_at__isnull=True) | Q(analysis_retry_at__lte=now)
    attempts_left = Q(analysis_attempts__lt=settings.FLYWHEEL_MAX_ATTEMPTS)
    return (
        Q(analysis_status=A.PENDING) & due
        | Q(analysis_status=A.FAILED) & attempts_left & due
        | _stale(now) & attempts_left
    )


def sessions_waiting_count(*, account_id: int) -> int:
    """How many of the account's resolved sessions wait for analysis now."""
    return AISession.objects.filter(_waiting(timezone.now()), status=AISession.Status.RESOLVED,
                                    account_id=account_id).count()  # fmt: skip


def sessions_claim(*, limit: int | None = None, account_id: int | None = None) -> list[tuple[int, datetime]]:
    """Claim up to `limit` resolved sessions waiting for analysis (of one account, or of all):
    (id, claim time) each."""
    now = timezone.now()
    scope = {"account_id": account_id} if account_id else {}
    with transaction.atomic():
        # A claim lost too often stops here, failed, for a person to look at.
        AISession.objects.filter(_stale(now), analysis_attempts__gte=settings.FLYWHEEL_MAX_ATTEMPTS, **scope).update(
            analysis_status=A.FAILED, analysis_started_at=None, analysis_retry_at=None,
            analysis_error="The analysis never finished (its worker stopped) on every attempt.",
        )  # fmt: skip
        ids = list(
            AISession.objects.select_for_update(skip_locked=True)
            .filter(_waiting(now), status=AISession.Status.RESOLVED, **scope)
            .order_by("resolved_at", "id")
            .values_list("pk", flat=True)[: limit or settings.FLYWHEEL_BATCH_SIZE]
        )
        # Every claim is an attempt: one whose worker dies counts like one that fails.
        AISession.objects.filter(pk__in=ids).update(
            analysis_status=A.PROCESSING, analysis_started_at=now, analysis_attempts=F("analysis_attempts") + 1
        )
    return [(pk, now) for pk in ids]


def analyse_batch(
    *, limit: int | None = None, account_id: int | None = None, within: float | None = None
) -> BatchResult:
    """Claim a batch and analyse it. With `within` (seconds: the task's time limit), no session is
    started that might not finish in time; claims not started are handed back at once, whatever
    stops the batch, so nothing waits for the claim timeout."""
    result = BatchResult()
    claims = sessions_claim(limit=limit, account_id=account_id)
    stop_at = time.monotonic() + within - settings.AI_DEADLINE - 5 if within else None
    started = 0
    try:
        for session_id, claimed_at in claims:
            if stop_at is not None and time.monotonic() > stop_at:
                break
            started += 1
            result.claimed += 1
            outcome = session_analyse(session_id=session_id, claimed_at=claimed_at)
            result.count(outcome)
            if outcome == "busy" and budget.provider_paused_for() > 0:
                break  # the provider asked everyone to slow down: the rest is handed back
    finally:
        for session_id, claimed_at in claims[started:]:
            AISession.objects.filter(
                pk=session_id, analysis_status=A.PROCESSING, analysis_started_at=claimed_at
            ).update(
                # A claim never started is no attempt: a provider pause must not use up the session's tries.
                analysis_status=A.PENDING,
                analysis_started_at=None,
                analysis_attempts=F("analysis_attempts") - 1,
            )
    return result


def session_bundle(session: AISession) -> dict:
    """What the analysis reads: the problem, the steps with their answers, the facts, every fix
    with its outcome, the resolution, and the flow it matched (fenced as data by the prompt)."""
    steps = []
    for step in session.steps.order_by("order"):
        kind = {SessionStep.StepType.RESOLUTION_SUGGESTION: "resolution"}.get(step.step_type, step.step_type)
        answered = step.response_kind and step.response_kind != SessionStep.ResponseKind.SKIPPED
        steps.append(
            {
                "type": kind,
                "text": step.title,
                "options": [o.get("label") for o in step.content.get("options") or []],
                "answer": (
                    step.response_label
                    if step.response_kind != "action_result"
                    else ("done" if step.action_worked else "did not work")
                )
                if answered
                else None,
            }  # fmt: skip
        )
    fixes = [
        {"title": f.title, "outcome": f.outcome, "reason": f.failure_reason or f.partial_notes or None}
        for f in SuggestedFix.objects.filter(session=session).order_by("created_at", "id")
    ]
    flow = session.matched_flow
    return {
        "summary": session.problem_summary,
        "domain": session.problem_domain,
        "key_symptoms": session.key_symptoms,
        "intake": session.intake_content[:3000],
        "steps": steps,
        "facts": [f.text for f in Fact.objects.live().filter(session=session).order_by("created_at", "id")],
        "fixes": fixes,
        "resolution": session.resolution_summary or None,
        "matched_flow": {"title": flow.title, "when_to_use": flow.when_to_use, "tree": flow.tree} if flow else None,
    }


def session_analyse(*, session_id: int, claimed_at: datetime) -> str:
    """Analyse one claimed session. Returns the outcome: new_flow / enhancement (created or added as
    evidence), reinforced, skipped (nothing to learn), failed, waiting (the daily cap), or lost (the
    claim was taken back).

    A duplicate or a no-fault-found session proposes no new flow (issue 16): it repeats another
    session, or nothing was wrong. Without a matched flow to reinforce or enhance, there is nothing
    to ask the AI at all."""
    session = AISession.objects.select_related("account", "matched_flow").get(pk=session_id)
    if session.resolution_code in CODES_WITHOUT_FLOW and session.matched_flow_id is None:
        with transaction.atomic():
            if not _still_claimed(session_id, claimed_at):
                return "lost"
            _finish(session_id, status=A.ANALYSED, attempts=None)
        return "skipped"
    try:
        answer = ai_json(
            action="flywheel_analysis",
            system=prompts.ANALYSIS_SYSTEM,
            messages=prompts.analysis_message(session_bundle(session)),
            schema=prompts.ANALYSIS_SCHEMA,
            account=session.account,
            subject=Subject("session", session.pk),
            max_tokens=3000,
        )
        with transaction.atomic():
            if not _still_claimed(session_id, claimed_at):
                return "lost"
            outcome = _decide(session, answer)
            _finish(session_id, status=A.ANALYSED, attempts=None)
        return outcome
    except services.DailyCapReached:
        tomorrow = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        AISession.objects.filter(pk=session_id, analysis_started_at=claimed_at).update(
            analysis_status=A.PENDING, analysis_retry_at=tomorrow, analysis_started_at=None,
            analysis_attempts=F("analysis_attempts") - 1,  # waiting for the cap is no attempt
        )  # fmt: skip
        return "waiting"
    except (AIError, TreeError, InvalidInput, KeyError, TypeError, ValueError) as error:
        if isinstance(error, AIError) and error.busy:
            # The account's background share or the provider's pause: handed back, due again after
            # the wait it was given; waiting is no attempt, and nothing is marked failed.
            retry_at = timezone.now() + timedelta(seconds=error.retry_after or settings.AI_BUDGET_BACKGROUND_RETRY)
            AISession.objects.filter(pk=session_id, analysis_started_at=claimed_at).update(
                analysis_status=A.PENDING, analysis_retry_at=retry_at, analysis_started_at=None,
                analysis_attempts=F("analysis_attempts") - 1,
            )  # fmt: skip
            return "busy"
        message = getattr(error, "message", None) or str(error) or error.__class__.__name__
        logger.warning("Analysis of session %s failed: %s", session_id, message)
        _fail(session_id, claimed_at, message)
        return "failed"
    except SoftTimeLimitExceeded:
        raise  # the batch is out of time: its unstarted claims are handed back
    except Exception as error:  # anything else (a deadlock, a bug) fails this session, not the batch
        logger.exception("Analysis of session %s stopped unexpectedly", session_id)
        _fail(session_id, claimed_at, f"Unexpected error: {error.__class__.__name__}: {error}"[:2000])
        return "failed"


def _still_claimed(session_id: int, claimed_at: datetime) -> bool:
    return (
        AISession.objects.select_for_update()
        .filter(pk=session_id, analysis_status=A.PROCESSING, analysis_started_at=claimed_at)
        .exists()
    )


def _finish(session_id: int, *, status: str, attempts) -> None:
    AISession.objects.filter(pk=session_id).update(
        analysis_status=status, analysis_error="", analysis_started_at=None, analysis_retry_at=None
    )


def _fail(session_id: int, claimed_at: datetime, message: str) -> None:
    """Failed, with the error and one more attempt counted; retried later with backoff until the
    attempts run out (then it stays failed, for a person to look at)."""
    with transaction.atomic():
        session = (
            AISession.objects.select_for_update()
            .filter(pk=session_id, analysis_status=A.PROCESSING, analysis_started_at=claimed_at)
            .first()
        )
        if session is None:
            return
        attempts = session.analysis_attempts  # counted when it was claimed
        retry = timezone.now() + BACKOFF * 2 ** (attempts - 1) if attempts < settings.FLYWHEEL_MAX_ATTEMPTS else None
        AISession.objects.filter(pk=session_id).update(
            analysis_status=A.FAILED, analysis_error=message[:2000], analysis_attempts=attempts,
            analysis_retry_at=retry, analysis_started_at=None,
        )  # fmt: skip


def _decide(session: AISession, answer: dict) -> str:
    decision = answer["decision"]
    flow = session.matched_flow
    if decision != "new_flow" and flow is None:
        raise InvalidInput(f"The analysis said '{decision}', but the session followed no flow.")
    # Every analysed session that matched the flow is a use of it; only one that followed it to its
    # resolution is a success (success rate: resolved by the flow ÷ sessions matched). The flow row
    # is written last: locks go account, proposal, flow, as a publish takes proposal, then flow.
    if decision == "reinforced":
        services.flow_reinforce(flow_id=flow.pk, matched_at=session.created_at, resolved=True)
        return "reinforced"
    if decision == "new_flow" and session.resolution_code in CODES_WITHOUT_FLOW:
        if flow is not None:  # it was still a use of the flow it matched
            services.flow_reinforce(flow_id=flow.pk, matched_at=session.created_at, resolved=False)
        return "skipped"
    tree = tree_with_stubs(prompts.tree_from_answer(answer.get("tree")) or {})
    validate_tree(tree)
    worked = SuggestedFix.objects.filter(session=session, outcome=SuggestedFix.Outcome.APPLIED_SUCCESS).exists()
    _, created = services.proposal_record(
        account=session.account,
        type=FlowProposal.Type.NEW_FLOW if decision == "new_flow" else FlowProposal.Type.ENHANCEMENT,
        source=FlowProposal.Source.SESSION_ANALYSIS,
        session_id=session.pk,
        title=answer.get("title") or (flow.title if flow else session.problem_summary),
        description=answer.get("description") or "",
        keywords=answer.get("keywords") or [],
        domain=answer.get("domain") or session.problem_domain or "",
        tree=tree,
        target_flow=flow if decision == "enhancement" else None,
        changes=answer.get("changes") or "",
        validated_by_outcome=worked,
    )
    if flow is not None:
        services.flow_reinforce(flow_id=flow.pk, matched_at=session.created_at, resolved=False)
    return decision if created else f"{decision} (evidence added)"


# --- "draft a flow" from a knowledge gap ------------------------------------------------------


def gap_draft_flow(*, actor: User, gap: "Gap") -> FlowProposal:
    """Start a new-flow proposal from the sessions behind a knowledge gap (SPEC §8): the analysis
    reads the newest of them — a resolved one first, it has the fix — as a session no flow covers,
    and every session of the gap is recorded as evidence. Returns the proposal (an alike pending one
    gains the evidence instead). Owners and admins only; the gap is the actor's account's."""
    if not actor.can_admin:
        raise PermissionDenied("Only owners and admins draft flows.")
    sessions = list(
        AISession.objects.filter(account_id=actor.account_id, pk__in=gap.evidence.session_ids).select_related(
            "account", "matched_flow"
        )
    )
    if not sessions:
        raise InvalidInput("This gap has no sessions to draft a flow from.")
    source = max(sessions, key=lambda s: (s.status == AISession.Status.RESOLVED, s.created_at, s.pk))
    bundle = {**session_bundle(source), "matched_flow": None}  # a new flow, whatever it matched
    others = [{"summary": s.problem_summary, "key_symptoms": s.key_symptoms} for s in sessions if s.pk != source.pk]
    answer = ai_json(
        action="flywheel_analysis",
        system=prompts.ANALYSIS_SYSTEM,
        messages=prompts.gap_message(bundle, gap=f"{gap.type_label}: {gap.title}", others=others[:10]),
        schema=prompts.ANALYSIS_SCHEMA,
        account=source.account,
        user=actor,
        subject=Subject("session", source.pk),
        max_tokens=3000,
        priority="interactive",  # an admin waits on it
    )
    try:
        tree = tree_with_stubs(prompts.tree_from_answer(answer.get("tree")) or {})
        validate_tree(tree)
    except TreeError:
        raise InvalidInput("The analysis proposed no usable flow for this gap. Try again.") from None
    worked = SuggestedFix.objects.filter(session=source, outcome=SuggestedFix.Outcome.APPLIED_SUCCESS).exists()
    try:
        proposal, _ = services.proposal_record(
            account=source.account,
            type=FlowProposal.Type.NEW_FLOW,
            source=FlowProposal.Source.SESSION_ANALYSIS,
            session_id=source.pk,
            evidence_session_ids=[s.pk for s in sorted(sessions, key=lambda s: (-s.created_at.timestamp(), -s.pk))],
            title=answer.get("title") or source.problem_summary,
            description=answer.get("description") or "",
            keywords=answer.get("keywords") or [],
            domain=answer.get("domain") or gap.domain or source.problem_domain or "",
            tree=tree,
            validated_by_outcome=worked,
        )
    except services.DailyCapReached:
        raise Conflict("The account has had its new proposals for today: try again tomorrow.") from None
    audit_record(
        account=source.account, actor=actor, action="gap.draft_flow", obj=proposal,
        details={"gap": gap.key, "sessions": len(sessions)},
    )  # fmt: skip
    return proposal
