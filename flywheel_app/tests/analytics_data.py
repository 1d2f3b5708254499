"""History for the analytics page, made with bulk_create so 10,000 sessions take seconds: sessions of
every domain, tier and outcome, fixes that failed before they worked, escalations claimed and acted
on (or not), pushes of every status, AI usage with cache reads and writes. Used by the tests, the
browser test and `make bench`."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from flywheel_app.keywords import stored as stored_keywords
from resolutionflow.ai.models import AIUsage
from resolutionflow.taxonomy import Domain
from sessions_app.models import AISession, Escalation, SessionStep, SuggestedFix, TicketPush

DOMAINS = [Domain.EMAIL, Domain.NETWORKING, Domain.M365, Domain.PRINTING, Domain.ACTIVE_DIRECTORY, Domain.HARDWARE]
ERRORS = ["ConnectWise answered 401: the API keys were refused", "Ticket #4410 is closed", "Timed out after 20 s"]


def seed_history(*, account, owner, claimer, sessions: int, days: int = 30, flow=None) -> list[int]:
    """`sessions` sessions of `account` spread over the last `days` days; returns their ids."""
    now = timezone.now()
    St, T = AISession.Status, AISession.Tier
    tiers = [T.GUIDED, T.EXPLORING, T.DISCOVERY]
    made = []
    for i in range(sessions):
        created = now - timedelta(days=i % days, hours=1 + i % 7, minutes=i % 53)
        kind = i % 6
        status = [St.RESOLVED, St.RESOLVED, St.RESOLVED, St.REQUESTING_ESCALATION, St.ABANDONED, St.ACTIVE][kind]
        resolved = status == St.RESOLVED
        summary = f"{DOMAINS[(i // 5) % len(DOMAINS)].label} problem number {i}"
        made.append(
            AISession(
                account=account,
                owner=owner,
                problem_summary=summary,
                summary_keywords=stored_keywords(summary=summary, key_symptoms=[]),  # as the intake stores them
                intake_content=f"Intake {i}",
                context_message="x",
                problem_domain=DOMAINS[(i // 5) % len(DOMAINS)],
                confidence_tier=tiers[i % 3],
                confidence_score=[0.85, 0.5, 0.2][i % 3],
                status=status,
                matched_flow=flow if flow is not None and i % 4 == 0 else None,
                created_at=created,
                last_activity_at=created,
                resolved_at=created + timedelta(minutes=8 + (i * 7) % 55) if resolved else None,
                rating=(1 + (i * 3) % 5) if resolved and i % 4 else None,
            )
        )
    made = AISession.objects.bulk_create(made)
    fixes, escalations, steps, pushes, usage = [], [], [], [], []
    for i, s in enumerate(made):
        if i % 3 == 0:  # failed first, worked after (one session, counted once)
            fixes.append(SuggestedFix(account=account, session=s, title="Restart the spooler",
                                      outcome="applied_failed", failure_reason="Still stuck",
                                      created_at=s.created_at + timedelta(minutes=2),
                                      superseded_at=s.created_at + timedelta(minutes=3)))  # fmt: skip
            fixes.append(SuggestedFix(account=account, session=s, title="Clear the queue", outcome="applied_success",
                                      created_at=s.created_at + timedelta(minutes=4)))  # fmt: skip
        elif i % 3 == 1:
            fixes.append(SuggestedFix(account=account, session=s, title="Reset the token", outcome="applied_success",
                                      created_at=s.created_at + timedelta(minutes=2)))  # fmt: skip
        if s.status == AISession.Status.REQUESTING_ESCALATION or i % 9 == 0:
            raised = s.created_at + timedelta(minutes=5)
            claimed = i % 4 != 0 and s.status != AISession.Status.REQUESTING_ESCALATION or i % 8 == 3
            escalations.append(
                Escalation(
                    account=account,
                    session=s,
                    escalated_by=owner,
                    reason="Stuck",
                    created_at=raised,
                    claimed_by=claimer if claimed else None,
                    claimed_at=raised + timedelta(minutes=1 + i % 20) if claimed else None,
                )
            )
            if claimed and i % 5:
                steps.append(
                    SessionStep(account=account, session=s, order=1, step_type="question", raw_turn="{}",
                                content={"text": "Q?"}, response_kind="free_text", response_text="A",
                                responded_by=claimer,
                                responded_at=raised + timedelta(minutes=1 + i % 20, seconds=20 + (i * 37) % 900))
                )  # fmt: skip
        if s.status in (AISession.Status.RESOLVED, AISession.Status.REQUESTING_ESCALATION):
            status = ["posted", "posted", "posted", "failed", "local", "pending"][i % 6 if i % 5 else 3]
            pushes.append(
                TicketPush(
                    account=account,
                    session=s,
                    kind="resolution_note",
                    status=status,
                    error=ERRORS[i % len(ERRORS)] if status == "failed" else "",
                    attempts=1 + (i % 4 if status in ("failed", "posted") else 0),
                    created_by=owner,
                    created_at=s.created_at + timedelta(minutes=30),
                    posted_at=s.created_at + timedelta(minutes=31) if status in ("posted", "local") else None,
                )
            )
        for turn, action in enumerate(("session_turn", "session_turn", "resolution_note")[: 1 + i % 3]):
            usage.append(
                AIUsage(
                    account=account,
                    user=owner,
                    action=action if turn or i % 7 else "classify",
                    tier="strong",
                    model="claude-x",
                    input_tokens=400 + i % 300,
                    output_tokens=300 + i % 200,
                    cache_read_tokens=2400 * turn,
                    cache_write_tokens=0 if turn else 2400,
                    outcome="ok",
                    cost_usd=Decimal("0.004") + Decimal(i % 11) / 1000,
                    subject_type="session",
                    subject_id=s.pk,
                    created_at=s.created_at + timedelta(minutes=turn),
                )
            )
    SuggestedFix.objects.bulk_create(fixes)
    Escalation.objects.bulk_create(escalations)
    SessionStep.objects.bulk_create(steps)
    TicketPush.objects.bulk_create(pushes)
    AIUsage.objects.bulk_create(usage)
    return [s.pk for s in made]
