"""Reads of engineer sessions, always inside the user's account and access rules."""

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from resolutionflow.accounts.models import User
from resolutionflow.errors import NotFound

from .models import AISession, Escalation, LaneItem, ScriptTemplate, SessionStep


def session_get_for_user(*, user: User, session_id: int) -> AISession:
    """The session if `user` may open it (SPEC §2 'Who may open a session'); else NotFound —
    the same answer for another account's session, a colleague's, or a missing one.
    L1 techs never see engineer sessions."""
    if not user.can_use_sessions:
        raise NotFound()
    escalated_to_user = Escalation.objects.filter(session=OuterRef("pk"), target=user)
    may_open = Q(owner=user) | Q(status=AISession.Status.REQUESTING_ESCALATION) | Q(Exists(escalated_to_user))
    try:
        session = (
            AISession.objects.select_related("account", "owner", "matched_flow", "internal_ticket", "team")
            .filter(may_open)
            .get(pk=session_id, account_id=user.account_id)
        )
    except (AISession.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    # Anyone but the owner reads it only (awaiting pickup, or as the engineer it was escalated to):
    # every form on the page is gated on `is_open`, and every service checks the owner again.
    session.read_only = session.owner_id != user.pk
    return session


def escalation_queue(*, user: User) -> list[Escalation]:
    """Sessions of the user's account awaiting pickup, except the user's own escalations: the ones
    escalated to the user first, then by urgency, then the longest waiting."""
    urgency_rank = Case(
        *[When(session__urgency=u, then=Value(n)) for n, u in enumerate(["critical", "high", "medium", "low"])],
        default=Value(4),
        output_field=IntegerField(),
    )
    return list(
        Escalation.objects.filter(
            account_id=user.account_id,
            claimed_at__isnull=True,
            session__status=AISession.Status.REQUESTING_ESCALATION,
        )
        .exclude(escalated_by=user)
        .select_related("session", "escalated_by", "target")
        .annotate(
            for_me=Case(When(target=user, then=Value(0)), default=Value(1), output_field=IntegerField()),
            urgency_rank=urgency_rank,
        )
        .order_by("for_me", "urgency_rank", "created_at", "id")
    )


def session_steps(*, session: AISession) -> list[SessionStep]:
    return list(session.steps.select_related("responded_by").order_by("order"))


def session_lane(*, session: AISession) -> dict[str, list[LaneItem]]:
    """Items the AI still wants (proposed in its latest turn) and the answered ones, by kind."""
    items = list(session.lane_items.order_by("id"))
    lane: dict[str, list[LaneItem]] = {"questions": [], "checks": [], "answered": []}
    for item in items:
        if item.status == LaneItem.Status.ANSWERED:
            lane["answered"].append(item)
        elif item.last_step == session.step_count:
            lane["questions" if item.kind == LaneItem.Kind.QUESTION else "checks"].append(item)
    return lane


def lane_count(*, session: AISession, lane: dict | None = None) -> int:
    """What the Tasks handle counts: open questions and checks, and live facts (the lane opens by
    itself once there is something in it)."""
    lane = lane if lane is not None else session_lane(session=session)
    return len(lane["questions"]) + len(lane["checks"]) + session.facts.filter(deleted_at__isnull=True).count()


def session_list_for_user(*, user: User, query: str = "", status: str = "", domain: str = "") -> QuerySet[AISession]:
    qs = AISession.objects.filter(account_id=user.account_id, owner=user).select_related("internal_ticket")
    if status:
        qs = qs.filter(status=status)
    if domain:
        qs = qs.filter(problem_domain=domain)
    if query.strip():
        for word in query.split()[:8]:
            qs = qs.filter(
                Q(problem_summary__icontains=word)
                | Q(intake_content__icontains=word)
                | Q(psa_ticket_ref__icontains=word)
                | Q(resolution_summary__icontains=word)
            )
    return qs.order_by("-last_activity_at", "-id")


def script_templates_for_session(
    *, account_id: int, team_id: int | None, user: User, limit: int = 20
) -> list[ScriptTemplate]:
    """Active templates the AI may propose: the team's and account-wide ones, plus the user's own
    personal ones; most used first, at most `limit`."""
    shared = Q(visibility=ScriptTemplate.Visibility.TEAM) & (Q(team__isnull=True) | Q(team_id=team_id))
    personal = Q(visibility=ScriptTemplate.Visibility.PERSONAL, owner=user)
    return list(
        ScriptTemplate.objects.filter(account_id=account_id, is_active=True, deleted_at__isnull=True)
        .filter(shared | personal)
        .order_by("-usage_count", "name")[:limit]
    )
