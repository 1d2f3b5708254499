"""Reads of engineer sessions, always inside the user's account and access rules."""

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from resolutionflow.accounts.models import ENGINEER_ROLES, User
from resolutionflow.errors import NotFound
from sessions_app.forms import EscalateForm, LinkTicketForm, RateForm, ResolveForm, ScriptParametersForm
from sessions_app.models import MAX_STEPS, AISession, Escalation, LaneItem, ScriptTemplate, SessionStep, SuggestedFix

Out = SuggestedFix.Outcome


def session_may_open(*, session: AISession, user: User) -> bool:
    """Who may open a session (SPEC §2): its engineer, any engineer of its account while it awaits
    pickup or once it is resolved (read-only: the "Solved before" hints link there), the engineer
    it was escalated to, and the engineer who escalated it (read-only once a colleague has it).
    L1 techs never see engineer sessions. The first three are read off the row; only the others
    ask the database."""
    if not user.can_use_sessions or session.account_id != user.account_id:
        return False
    readable_by_all = (AISession.Status.REQUESTING_ESCALATION, AISession.Status.RESOLVED)
    if session.owner_id == user.pk or session.status in readable_by_all:
        return True
    return Escalation.objects.filter(Q(target=user) | Q(escalated_by=user), session_id=session.pk).exists()


def _openable(queryset: QuerySet[AISession], *, user: User, session_id: int) -> AISession:
    """The session if `user` may open it; else NotFound — the same answer for another account's
    session, a colleague's, or a missing one."""
    if not user.can_use_sessions:
        raise NotFound()
    try:
        session = queryset.get(pk=session_id, account_id=user.account_id)
    except (AISession.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not session_may_open(session=session, user=user):
        raise NotFound()
    # Anyone but the owner reads it only (awaiting pickup, or as the engineer it was escalated to):
    # every form on the page is gated on `is_open`, and every service checks the owner again.
    session.read_only = session.owner_id != user.pk
    return session


def session_get_for_user(*, user: User, session_id: int) -> AISession:
    """The session, with what its pages show beside it, if `user` may open it; else NotFound."""
    return _openable(
        AISession.objects.select_related("account", "owner", "matched_flow", "internal_ticket"),
        user=user,
        session_id=session_id,
    )


QUEUE_SHOWN = 50


@dataclass(frozen=True)
class EscalationQueue:
    """The most urgent escalations awaiting pickup, and how many more wait behind them."""

    shown: list[Escalation]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def escalation_queue(*, user: User, limit: int = QUEUE_SHOWN) -> EscalationQueue:
    """Sessions of the user's account awaiting pickup, except the user's own escalations: the ones
    escalated to the user first, then by urgency, then the longest waiting. At most `limit`, with
    the count of all (a page costs the same with 200 waiting as with 5)."""
    urgency_rank = Case(
        *[When(session__urgency=u, then=Value(n)) for n, u in enumerate(["critical", "high", "medium", "low"])],
        default=Value(4),
        output_field=IntegerField(),
    )
    waiting = Escalation.objects.filter(
        account_id=user.account_id,
        claimed_at__isnull=True,
        session__status=AISession.Status.REQUESTING_ESCALATION,
    ).exclude(escalated_by=user)
    shown = list(
        waiting.select_related("session", "escalated_by", "target")
        .annotate(
            for_me=Case(When(target=user, then=Value(0)), default=Value(1), output_field=IntegerField()),
            urgency_rank=urgency_rank,
        )
        .order_by("for_me", "urgency_rank", "created_at", "id")[:limit]
    )
    total = len(shown) if len(shown) < limit else waiting.count()
    return EscalationQueue(shown=shown, total=total)


def escalation_queue_version(*, account_id: int) -> str:
    """What the queue of an account looks like, as a token a poll can compare: it changes when a
    session of the account is escalated or claimed, and every minute (the waiting times move)."""
    # A counter the cache lost starts again from the clock (never from a number an old region has).
    changes = cache.get_or_set(escalation_queue_key(account_id), time.time_ns, timeout=None)
    return f"{changes}.{int(time.time() // 60)}"


def escalation_queue_key(account_id: int) -> str:
    return f"escalation-queue:{account_id}"


def session_steps(*, session: AISession) -> list[SessionStep]:
    return list(session.steps.select_related("responded_by").order_by("order"))


def session_lane(*, session: AISession, items: list[LaneItem] | None = None) -> dict[str, list[LaneItem]]:
    """Items the AI still wants (proposed in its latest turn) and the answered ones, by kind."""
    items = items if items is not None else list(session.lane_items.order_by("id"))
    lane: dict[str, list[LaneItem]] = {"questions": [], "checks": [], "answered": []}
    for item in items:
        if item.status == LaneItem.Status.ANSWERED:
            lane["answered"].append(item)
        elif item.last_step == session.step_count:
            lane["questions" if item.kind == LaneItem.Kind.QUESTION else "checks"].append(item)
    return lane


def lane_count(*, session: AISession, lane: dict | None = None, facts: int | None = None) -> int:
    """What the Tasks handle counts: open questions and checks, and live facts (the lane opens by
    itself once there is something in it). Pass what the caller already read to skip the queries."""
    lane = lane if lane is not None else session_lane(session=session)
    if facts is None:
        facts = session.facts.filter(deleted_at__isnull=True).count()
    return len(lane["questions"]) + len(lane["checks"]) + facts


def session_needs_turn(session: AISession, last_step: SessionStep | None) -> bool:
    """The engineer answered and the AI has not given its next step yet."""
    return (
        session.status == AISession.Status.ACTIVE
        and session.step_count < MAX_STEPS
        and (last_step is None or last_step.answered)
    )


def session_list_for_user(
    *, user: User, query: str = "", status: str = "", domain: str = "", code: str = ""
) -> QuerySet[AISession]:
    """The engineer's sessions. `code`: a resolution code, or "none" for resolved ones recorded
    before codes existed."""
    qs = AISession.objects.filter(account_id=user.account_id, owner=user).select_related("internal_ticket")
    if status:
        qs = qs.filter(status=status)
    if domain:
        qs = qs.filter(problem_domain=domain)
    if code:
        qs = qs.filter(status=AISession.Status.RESOLVED, resolution_code="" if code == "none" else code)
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


def script_template_for_user(*, user: User, template_id: int) -> ScriptTemplate:
    """A template the user may use: active, of their account, shared with their team or the whole
    account, or their own personal one. Anything else is NotFound."""
    team_ids = list(user.teams.values_list("id", flat=True))
    visible = Q(visibility=ScriptTemplate.Visibility.TEAM) & (Q(team__isnull=True) | Q(team_id__in=team_ids))
    visible |= Q(visibility=ScriptTemplate.Visibility.PERSONAL, owner=user)
    template = (
        ScriptTemplate.objects.filter(account_id=user.account_id, is_active=True, deleted_at__isnull=True)
        .filter(visible)
        .filter(pk=template_id)
        .first()
    )
    if template is None:
        raise NotFound()
    return template


def fix_active(*, session: AISession) -> SuggestedFix | None:
    """The session's one active suggested fix, if any."""
    return (
        SuggestedFix.objects.filter(session=session, superseded_at__isnull=True)
        .select_related("script_template")
        .first()
    )


# --- escalation and pickup -------------------------------------------------------------


def escalation_needs_intercept(fix: SuggestedFix | None) -> bool:
    """A fix that is verifying, partly worked or waiting to verify: ask how it went first."""
    return bool(
        fix
        and fix.superseded_at is None
        and fix.applied_at is not None
        and fix.outcome in (Out.PROPOSED, Out.APPLIED_PARTIAL, Out.APPLIED_PENDING)
    )


def escalation_targets(*, session: AISession, actor: User):
    """Who an engineer may name as the target: the account's other usable engineers."""
    return (
        User.objects.for_account(session.account_id)
        .usable()
        .filter(role__in=ENGINEER_ROLES)
        .exclude(pk=actor.pk)
        .order_by("full_name", "email")
    )


def handoff_briefing(session: AISession, escalation: Escalation) -> dict:
    """What the new engineer starts from: who escalated and why, the steps tried with their
    answers, the hypotheses still open, and the suggested next steps."""
    steps = list(session.steps.filter(order__lte=escalation.at_step).order_by("order"))
    tried = [{"order": s.order, "step": s.title, "answer": s.response_label} for s in steps if s.answered]
    fix = fix_active(session=session)
    hypotheses = []
    still_open = (Out.PROPOSED, Out.APPLIED_PARTIAL, Out.APPLIED_PENDING)
    if fix is not None and fix.outcome in still_open and fix.decision != SuggestedFix.Decision.DISMISSED:
        hypotheses.append(f"{fix.title} ({fix.get_outcome_display().lower()}, {fix.confidence}% confidence)")
    open_items = list(
        session.lane_items.filter(status=LaneItem.Status.OPEN, last_step=session.step_count).order_by("id")
    )
    next_steps = []
    if escalation.assessment_status == Escalation.AssessmentStatus.READY:
        next_steps = list(escalation.assessment.get("suggested_steps") or [])
        if escalation.assessment.get("likely_cause"):
            hypotheses.append(escalation.assessment["likely_cause"])
    if not next_steps:
        next_steps = _package_next_steps(escalation.package)
    if not next_steps:
        next_steps = [i.text for i in open_items][:4]  # in the question's own words, not its lane id
    if not next_steps and fix is not None and fix.outcome == Out.APPLIED_PARTIAL:
        next_steps = [f"Finish what “{fix.title}” left undone: {fix.partial_notes}"]
    if fix is not None and fix.outcome == Out.APPLIED_PENDING:
        next_steps.insert(0, f"Confirm the fix held: {fix.title} ({fix.pending_reason})")
    by = escalation.escalated_by
    return {
        "escalated_by": by.get_full_name() or by.email,
        "reason": escalation.reason,
        "escalated_at": escalation.created_at.isoformat(),
        "tried": tried,
        "hypotheses": hypotheses,
        "next_steps": next_steps,
    }


_NEXT_STEPS = re.compile(r"^#+\s*suggested next steps\s*$(.*?)(?=^#|\Z)", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$", re.MULTILINE)


def _package_next_steps(package: str) -> list[str]:
    """The numbered steps under the package's "Suggested next steps" heading."""
    section = _NEXT_STEPS.search(package or "")
    return [m.strip() for m in _LIST_ITEM.findall(section.group(1))][:4] if section else []


def escalation_picked_up_by_colleague(*, user: User, session_id: int) -> Escalation | None:
    """The latest escalation of a session of `user`'s account, when a colleague claimed it — not
    `user`, and not the engineer who escalated it (they still read the session): what an engineer
    who wanted it is told, who has it and since when. None otherwise, also across accounts."""
    escalation = (
        Escalation.objects.filter(account_id=user.account_id, session_id=session_id, claimed_by__isnull=False)
        .select_related("claimed_by")
        .order_by("-claimed_at", "-id")
        .first()
    )
    if escalation is None or user.pk in (escalation.claimed_by_id, escalation.escalated_by_id):
        return None
    return escalation


def escalation_open(*, session: AISession) -> Escalation | None:
    return (
        Escalation.objects.filter(session=session, claimed_at__isnull=True)
        .select_related("escalated_by", "target")
        .first()
    )


def handoff_assessment_status(escalation: Escalation) -> str:
    """The assessment's status as the handoff screen shows it: one still being drafted past its
    time limit (a worker down, a task lost) is unavailable, and may be drafted again."""
    status = escalation.assessment_status
    late = timezone.now() - escalation.created_at > timedelta(seconds=settings.HANDOFF_ASSESSMENT_TIMEOUT + 5)
    if status == Escalation.AssessmentStatus.PENDING and late:
        return Escalation.AssessmentStatus.UNAVAILABLE
    return status


def handoff_assessment_context(*, escalation: Escalation) -> dict:
    """What the assessment region of the handoff screen needs."""
    return {"escalation": escalation, "assessment_status": handoff_assessment_status(escalation)}


# --- the session page -------------------------------------------------------------------------


def escalate_form(*, session: AISession, user: User, fix: SuggestedFix | None, data=None) -> EscalateForm:
    """The escalate form; whether it asks how the fix went depends on the active `fix`."""
    return EscalateForm(
        data,
        targets=escalation_targets(session=session, actor=user),
        needs_intercept=escalation_needs_intercept(fix),
    )


EARLIER_FIXES_SHOWN = 5


def session_fix_context(*, session: AISession, escalate: EscalateForm | None = None) -> dict:
    """What the fix banner, the fix card and the escalate form need (a fixed number of queries):
    the active fix with the parameter form its script waits for, and the fixes tried before it
    (applied, then dismissed or replaced), which stay as history."""
    shown = list(
        SuggestedFix.objects.filter(session=session)
        .filter(Q(superseded_at__isnull=True) | Q(applied_at__isnull=False))
        .select_related("script_template")
        .order_by(F("superseded_at").desc(nulls_first=True), "-id")[: EARLIER_FIXES_SHOWN + 1]
    )
    fix = shown[0] if shown and shown[0].superseded_at is None else None
    waits = fix is not None and fix.waits_for_parameters and session.is_open
    return {
        "session": session,
        "fix": fix,
        "earlier_fixes": [f for f in shown if f.superseded_at is not None][:EARLIER_FIXES_SHOWN],
        "run_form": ScriptParametersForm(parameters=fix.script_schema, values=fix.script_parameters) if waits else None,
        "generations": list(session.script_generations.select_related("template").order_by("-created_at")[:10]),
        "script_templates": script_templates_for_session(
            account_id=session.account_id, team_id=session.team_id, user=session.owner
        ),
        "escalate_form": escalate or escalate_form(session=session, user=session.owner, fix=fix),
    }


def session_conversation_context(*, session: AISession, steps: list[SessionStep] | None = None) -> dict:
    """What the conversation's turn status needs: the current step, whether a turn is owed, the limit."""
    last = (steps[-1] if steps else None) if steps is not None else session.steps.order_by("-order").first()
    return {
        "session": session,
        "current_step": last if last is not None and not last.answered else None,
        "needs_turn": session_needs_turn(session, last),
        "max_steps": MAX_STEPS,
        "at_step_limit": session.step_count >= MAX_STEPS and (last is None or last.answered),
    }


def session_lane_context(*, session: AISession) -> dict:
    """The lane's questions, checks and answered items, and the Tasks count."""
    lane = session_lane(session=session)
    return {"session": session, "lane": lane, "lane_count": lane_count(session=session, lane=lane)}


def session_page_context(
    *,
    session: AISession,
    escalate: EscalateForm | None = None,
    resolve: ResolveForm | None = None,
    rate: RateForm | None = None,
    **extra,
) -> dict:
    """Everything the session page renders; each region's own selector above answers its partial."""
    steps = session_steps(session=session)
    escalations = list(session.escalations.select_related("escalated_by", "claimed_by", "target"))
    return {
        **session_fix_context(session=session, escalate=escalate),
        **session_conversation_context(session=session, steps=steps),
        **session_lane_context(session=session),
        "steps": steps,
        "resolve_form": resolve or ResolveForm(),
        "rate_form": rate or RateForm(),
        "link_form": LinkTicketForm(user=session.owner) if session.is_open else None,
        "escalations": escalations,
        "open_escalation": next((e for e in escalations if e.claimed_at is None), None),
        "pushes": list(session.pushes.order_by("created_at", "id")),
        **extra,
    }


# --- the session page's cache ------------------------------------------------------------------


# The session's own columns that the cached page (its key and title) and a fact write need:
# no joins, none of the long texts.
ROW_FIELDS = (
    "id", "account_id", "owner_id", "status", "state_version", "step_count", "last_activity_at", "rating",
    "problem_summary", "ai_feedback_count",
)  # fmt: skip


def session_row_for_user(*, user: User, session_id: int) -> AISession:
    """The session with only ROW_FIELDS loaded (another field read later costs a query), under the
    same rule as `session_get_for_user`: NotFound for anyone who may not open it."""
    return _openable(AISession.objects.only(*ROW_FIELDS), user=user, session_id=session_id)


def session_page_cache_keys(*, session: AISession, viewer: User, csrf_secret: str) -> tuple[str, str]:
    """The key the session page's body is cached under, and the key of its epoch.

    The body key names everything the body shows that the session row carries: every write to
    what the page shows bumps state_version (facts, the fix, scripts, answered checks, a linked
    ticket) or moves the step count, status, owner or last activity; the rating is there for the
    resolved page. The viewer (read-only or not, the forms' CSRF tokens) and the minute (the
    "x minutes ago" texts) are in it too. What changes the page without touching the session row —
    a ticket push's status — bumps the epoch (`services.state.session_page_changed`), which is
    stored with the body and compared on read."""
    minute = int(time.time() // 60)
    csrf = hashlib.blake2b(csrf_secret.encode(), digest_size=6).hexdigest() if csrf_secret else "-"
    parts = (
        session.account_id, session.pk, viewer.pk, session.owner_id, session.status, session.state_version,
        session.step_count, session.last_activity_at.timestamp(), session.rating or 0, minute, csrf,
    )  # fmt: skip
    return "session-page:" + ":".join(str(p) for p in parts), session_page_epoch_key(session.pk)


def session_page_epoch_key(session_id: int) -> str:
    return f"session-page-epoch:{session_id}"


# --- "Solved before": similar resolved sessions ---------------------------------------------------

SIMILAR_SHOWN = 3
# The combined score (0–1): the cover-density rank (ts_rank_cd) of the intake's words against the
# resolved session's weighted document (summary A, key symptoms B, facts and resolution C, what was
# changed D), normalised to rank / (rank + 1), and the trigram similarity of the two summaries
# (spelling variants and word forms the english dictionary does not join). ts_rank_cd, not ts_rank:
# ts_rank divides an OR query's rank by its number of words, so a longer intake would score lower.
SIMILAR_TEXT_WEIGHT = 0.6
SIMILAR_TRIGRAM_WEIGHT = 0.4
# Below: one shared word in the summary (rank 1, score ~0.3 + trigram), not the same problem.
SIMILAR_MIN_SCORE = 0.45
SIMILAR_PAIR_WORDS = 16  # the candidate query pairs the first 16 words of the search text
SIMILAR_CANDIDATES = 100  # ranked at most: the latest resolved sessions sharing two words
SIMILAR_FALLBACK_MIN_SCORE = 0.35  # the SQLite fallback's own scale (`similar_word_overlap`)
# The SQLite fallback reads at most this many of the newest resolved sessions.
SIMILAR_FALLBACK_SCAN = 2000
_SIMILAR_WORD = re.compile(r"[a-z0-9]+")
# PostgreSQL's english stop words (tsearch_data/english.stop) and a few words every intake has: a
# pair of words in the candidate query must be two lexemes, never a stop word and a lexeme.
_SIMILAR_STOP = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot",
    "did", "do", "does", "doing", "don", "down", "during", "each", "every", "few", "for", "from", "further",
    "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "itself", "just", "keep", "keeps", "me", "more", "most", "my",
    "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "ourselves", "out", "over", "own", "s", "same", "she", "should", "since", "so", "some", "still", "such",
    "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whom", "why", "will", "with", "you", "your", "yours",
    "yourself", "yourselves",
))  # fmt: skip


def similar_resolved_sessions(
    *, account_id: int, text: str, summary: str, exclude_id: int | None = None, limit: int = SIMILAR_SHOWN
) -> list[dict]:
    """The `limit` resolved sessions of the account most like an intake, best first, as the snapshot
    a session keeps (`AISession.similar_sessions`): one query. Sessions of other accounts are never
    candidates. PostgreSQL: full-text search on the stored search vector (GIN) combined with trigram
    similarity on the summary; SQLite: word overlap (`similar_word_overlap`)."""
    words = list(dict.fromkeys(w for w in _SIMILAR_WORD.findall((text or "").lower()) if w not in _SIMILAR_STOP))
    if not words:
        return []
    resolved = AISession.objects.filter(account_id=account_id, status=AISession.Status.RESOLVED)
    if exclude_id is not None:
        resolved = resolved.exclude(pk=exclude_id)
    resolved = resolved.select_related("owner").only(
        "id", "problem_summary", "resolution_summary", "resolution_action", "resolved_at",
        "owner__full_name", "owner__email",
    )  # fmt: skip
    if connection.vendor == "postgresql":
        # Candidates share two of the first words (the summary's come first) with the document, and
        # are the latest SIMILAR_CANDIDATES of those: the work is bounded however many sessions the
        # account resolved. They are ranked on every word of the intake and the summary's trigrams.
        lead = words[:SIMILAR_PAIR_WORDS]
        pairs = [f"({a} & {b})" for n, a in enumerate(lead) for b in lead[n + 1 :]] or lead
        candidates = SearchQuery(" | ".join(pairs), search_type="raw", config="english")
        query = SearchQuery(" | ".join(words[:64]), search_type="raw", config="english")
        latest = resolved.filter(search_vector=candidates).order_by("-resolved_at").values("pk")
        found = [
            (s, s.score)
            for s in resolved.filter(pk__in=latest[:SIMILAR_CANDIDATES])
            .annotate(
                text_rank=SearchRank(F("search_vector"), query, cover_density=True, normalization=32),
                trigram=TrigramSimilarity("problem_summary", summary or text[:120]),
            )
            .annotate(score=SIMILAR_TEXT_WEIGHT * F("text_rank") + SIMILAR_TRIGRAM_WEIGHT * F("trigram"))
            .filter(score__gte=SIMILAR_MIN_SCORE)
            .order_by("-score", "-resolved_at", "-id")[: limit * 4]
        ]
    else:
        candidates = list(resolved.order_by("-resolved_at", "-id")[:SIMILAR_FALLBACK_SCAN])
        scored = similar_word_overlap(
            " ".join([text, summary]),
            [(s, s.problem_summary, f"{s.resolution_summary} {s.resolution_action}") for s in candidates],
        )
        found = [(s, score) for s, score in scored if score >= SIMILAR_FALLBACK_MIN_SCORE]
    # The same problem solved the same way many times is one hint (the latest of the best).
    distinct: dict[tuple[str, str], dict] = {}
    for session, score in found:
        key = (" ".join(session.problem_summary.lower().split()), " ".join(session.resolution_summary.lower().split()))
        distinct.setdefault(key, _similar_snapshot(session, score))
    return list(distinct.values())[:limit]


def similar_word_overlap(query: str, candidates: list[tuple]) -> list[tuple]:
    """The SQLite fallback's ranking, best first: each candidate is (item, summary, other text).
    Words are compared lower case, stop words out, plural and -ing/-ed endings off. A candidate
    shares at least two words with the query (one, for a one-word query), like the PostgreSQL
    candidates, and scores 0.7 × the share of its summary's words the query has + 0.3 × the share
    of the query's words found anywhere in it (a long intake does not drown a short summary)."""
    wanted = _similar_words(query)
    if not wanted:
        return []
    scored = []
    for item, summary, other in candidates:
        in_summary = _similar_words(summary)
        anywhere = in_summary | _similar_words(other)
        shared = wanted & anywhere
        if len(shared) < min(2, len(wanted)):
            continue
        summary_share = len(wanted & in_summary) / len(in_summary) if in_summary else 0.0
        scored.append((item, round(0.7 * summary_share + 0.3 * len(shared) / len(wanted), 3)))
    # sorted() is stable: equal scores keep the candidates' order (newest resolved first).
    return sorted(scored, key=lambda pair: -pair[1])


def _similar_words(text: str) -> set[str]:
    words = set()
    for word in _SIMILAR_WORD.findall((text or "").lower()):
        if word in _SIMILAR_STOP:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 2 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        words.add(word)
    return words


def _similar_snapshot(session: AISession, score: float) -> dict:
    owner = session.owner
    return {
        "id": session.pk,
        "summary": session.problem_summary,
        "resolution": session.resolution_summary[:400],
        "action": session.resolution_action[:300],
        "resolved_by": owner.get_full_name() or owner.email,
        "resolved_at": session.resolved_at.isoformat() if session.resolved_at else "",
        "score": round(float(score), 3),
    }
