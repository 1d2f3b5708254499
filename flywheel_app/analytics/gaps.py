"""Knowledge gaps (SPEC §8, issue 14 §1): where the desk's knowledge is thin, for one account and
period, each with its evidence and the action that closes it. Thresholds are settings (GAP_*).

- *weak options*: a question node of a flow, asked in sessions that matched the flow (the step's
  `flow_node_id`, set when the turn is recorded) or served in flow walks, escaped — answered with
  free text or skipped — at least GAP_WEAK_OPTION_MIN_ESCAPES times and in at least
  GAP_WEAK_OPTION_RATE of its visits (high at GAP_WEAK_OPTION_HIGH_RATE). A walk is a visit that
  cannot escape: its answers are the node's own choices. A node no longer in the flow is no gap.
- *high escalation*: a domain, or a flow, with at least GAP_ESCALATION_MIN_VOLUME finished sessions
  and walks started in the period (a session is finished when resolved or escalated — an escalated
  session counts as escalated even after a colleague resolves it; a walk when resolved or
  escalated), escalated at a rate of at least GAP_ESCALATION_RATE (high at GAP_ESCALATION_HIGH_RATE).
  A walk's domain is its flow's, else its L1 category's.
- *uncharted territory*: sessions resolved in the period, in the discovery tier, with no matched
  flow, per domain: at least GAP_UNCHARTED_MIN (high at GAP_UNCHARTED_HIGH).
- *repeated pattern*: sessions started in the period that matched no flow and share at least
  GAP_REPEATED_SHARED normalised keywords (of the summary and the key symptoms: lower case, stop
  words out, light stemming): at least GAP_REPEATED_MIN of them (high at GAP_REPEATED_HIGH).

Severity: *medium* at a rule's threshold, *high* at its high threshold; a gap with nothing new in
the newer half of the period (it may have faded) is one level lower, so *low* is a gap that met its
threshold but has not recurred lately. Nothing below a threshold is shown: a near miss is noise.

Cost: the counts are SQL aggregates and the evidence (at most EVIDENCE_LIMIT newest ids per gap) a
window query, so the number of queries is fixed whatever the data size. Only the repeated-pattern
grouping runs in Python, over the keyword lists of at most PATTERN_SESSIONS newest unmatched
sessions: a deterministic greedy grouping by the keyword pair most sessions share.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations

from django.conf import settings
from django.db.models import Case, Count, F, Max, Q, QuerySet, TextField, Value, When, Window
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone

from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.sql import session_escalated
from flywheel_app.keywords import from_stored, keywords
from flywheel_app.models import Flow
from l1_app.categories import CATEGORY_DOMAINS
from l1_app.models import Walk, WalkStep
from resolutionflow.errors import NotFound
from resolutionflow.taxonomy import Domain
from sessions_app.models import AISession, SessionStep

WEAK_OPTIONS = "weak_options"
HIGH_ESCALATION = "high_escalation"
UNCHARTED = "uncharted"
REPEATED = "repeated_pattern"
TYPES = {
    WEAK_OPTIONS: "Weak options",
    HIGH_ESCALATION: "High escalation",
    UNCHARTED: "Uncharted territory",
    REPEATED: "Repeated pattern",
}
HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITIES = {HIGH: "High", MEDIUM: "Medium", LOW: "Low"}

DRAFT_FLOW, REVIEW_QUESTION, REVIEW_FLOW, REVIEW_ESCALATIONS = "draft_flow", "review_question", "review_flow", "review"
EVIDENCE_LIMIT = 50  # newest session (and walk) ids kept per gap: linked, and recorded by "draft a flow"
LINKS_SHOWN = 10  # of them, linked on the page (the rest are counted: "and N more")
PATTERN_SESSIONS = 2000  # newest unmatched sessions the repeated-pattern grouping reads
PATTERN_WORDS = 16  # keywords per session the grouping pairs up

S = AISession.Status
K = SessionStep.ResponseKind
ESCAPED = Q(response_kind__in=[K.FREE_TEXT, K.SKIPPED])


@dataclass(frozen=True)
class Action:
    """What closes the gap: `method` "post" (a button posting the gap's key) or "get" (a link)."""

    kind: str
    label: str
    url: str
    method: str = "get"


@dataclass(frozen=True)
class Evidence:
    counts: list[tuple[str, int | str]]  # what the rule counted, in reading order
    session_ids: list[int] = field(default_factory=list)  # newest first
    walk_ids: list[int] = field(default_factory=list)  # escalated walks only (their page exists)
    flow_id: int | None = None
    flow_title: str = ""
    node_id: str = ""
    node_text: str = ""

    @property
    def session_links(self) -> list[tuple[int, str]]:
        return [(pk, reverse("sessions_app:detail", args=[pk])) for pk in self.session_ids]

    @property
    def walk_links(self) -> list[tuple[int, str]]:
        return [(pk, reverse("l1_app:escalation_detail", args=[pk])) for pk in self.walk_ids]

    # What the page links (reversing a URL costs; the page shows LINKS_SHOWN of each list).
    @property
    def shown_session_links(self) -> list[tuple[int, str]]:
        return [(pk, reverse("sessions_app:detail", args=[pk])) for pk in self.session_ids[:LINKS_SHOWN]]

    @property
    def shown_walk_links(self) -> list[tuple[int, str]]:
        return [(pk, reverse("l1_app:escalation_detail", args=[pk])) for pk in self.walk_ids[:LINKS_SHOWN]]

    @property
    def more_sessions(self) -> int:
        return max(0, len(self.session_ids) - LINKS_SHOWN)

    @property
    def more_walks(self) -> int:
        return max(0, len(self.walk_ids) - LINKS_SHOWN)

    @property
    def flow_url(self) -> str:
        return reverse("admin:flywheel_app_flow_change", args=[self.flow_id]) if self.flow_id else ""


@dataclass(frozen=True)
class Gap:
    key: str  # stable within a computation: what "draft a flow" posts back
    type: str
    domain: str
    severity: str
    title: str
    description: str
    evidence: Evidence
    suggested_action: str
    action: Action | None
    newest_at: datetime | None = None
    size: int = 0  # the rule's main count, for ordering

    @property
    def type_label(self) -> str:
        return TYPES[self.type]

    @property
    def severity_label(self) -> str:
        return SEVERITIES[self.severity]

    @property
    def domain_label(self) -> str:
        return Domain(self.domain).label if self.domain in Domain.values else self.domain


# --- the section ---------------------------------------------------------------------------


def section(*, account_id: int, days: int) -> Section:
    gaps = knowledge_gaps(account_id=account_id, days=days)
    if not gaps:
        return Section(
            key="gaps", title="Knowledge gaps", data={"gaps": [], "days": days},
            empty=f"No knowledge gaps in the last {days} days: every rule is below its threshold.",
        )  # fmt: skip
    return Section(key="gaps", title="Knowledge gaps", charts=[_chart(gaps, days)], data={"gaps": gaps, "days": days})


def _chart(gaps: list[Gap], days: int) -> Chart:
    counts = Counter((g.type, g.severity) for g in gaps)
    rows = [[label, *(counts[(kind, s)] for s in SEVERITIES)] for kind, label in TYPES.items()]
    said = "; ".join(
        f"{label}: " + (", ".join(f"{n} {s}" for s, n in zip(SEVERITIES, numbers, strict=True) if n) or "none")
        for label, *numbers in rows
    )
    return Chart(
        key="gaps_by_type", title="Knowledge gaps by type and severity", kind="stacked",
        columns=["Type", *SEVERITIES.values()], rows=rows, unit="gaps",
        alt=f"{len(gaps)} knowledge gaps in the last {days} days. {said}.",
    )  # fmt: skip


def gap_get(*, account_id: int, days: int, key: str) -> Gap:
    """One gap of the account's current list (NotFound: not a gap of this account now)."""
    gap = next((g for g in knowledge_gaps(account_id=account_id, days=days) if g.key == key), None)
    if gap is None:
        raise NotFound("This knowledge gap is no longer there: reload the page.")
    return gap


def knowledge_gaps(*, account_id: int, days: int) -> list[Gap]:
    """The account's gaps for the last `days` days, most severe first (cached: see base.cached)."""
    return cached(account_id=account_id, days=days, name="gaps", compute=lambda: _compute(account_id, days))


def _compute(account_id: int, days: int) -> list[Gap]:
    now = timezone.now()
    window = _Window(start=since(days, now=now), recent=now - timedelta(days=days) / 2)
    weak = _weak_option_candidates(account_id, window)
    escalation = _escalation_candidates(account_id, window)
    flow_ids = {f for f, _ in weak} | set(escalation["flow"])
    found = Flow.objects.filter(account_id=account_id, pk__in=flow_ids).values("pk", "title", "domain", "tree")
    flows = {f["pk"]: f for f in found}
    gaps = [
        *_weak_options(account_id, window, weak, flows),
        *_high_escalation(account_id, window, escalation, flows),
        *_uncharted(account_id, window),
        *_repeated(account_id, window),
    ]
    order = {HIGH: 0, MEDIUM: 1, LOW: 2}
    kinds = list(TYPES)
    return sorted(gaps, key=lambda g: (order[g.severity], kinds.index(g.type), -g.size, g.key))


@dataclass(frozen=True)
class _Window:
    start: datetime
    recent: datetime  # the newer half of the period begins here


def _severity(high: bool, newest: datetime | None, window: _Window) -> str:
    level = HIGH if high else MEDIUM
    if newest is None or newest < window.recent:
        return MEDIUM if level == HIGH else LOW
    return level


def _newest_ids(queryset: QuerySet, partition: list, value: str, limit: int = EVIDENCE_LIMIT) -> dict:
    """{partition key: [value, ...]} — the `limit` newest rows of each partition, in one query."""
    rows = (
        queryset.annotate(
            evidence_rank=Window(RowNumber(), partition_by=partition, order_by=[F("created_at").desc(), F("pk").desc()])
        )
        .filter(evidence_rank__lte=limit)
        .order_by("-created_at", "-pk")
        .values_list(*(p.name for p in partition), value)
    )
    found: dict = defaultdict(list)
    for *key, pk in rows:
        key = tuple(key) if len(key) > 1 else key[0]
        if pk not in found[key]:
            found[key].append(pk)
    return found


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


# --- weak options --------------------------------------------------------------------------


def _flow_steps(account_id: int, window: _Window) -> QuerySet:
    return SessionStep.objects.filter(
        account_id=account_id, created_at__gte=window.start, session__matched_flow__isnull=False
    ).exclude(flow_node_id="")


def _weak_option_candidates(account_id: int, window: _Window) -> dict[tuple[int, str], dict]:
    """(flow id, node id) → visits, escapes and the newest escape, for the nodes over the thresholds."""
    nodes: dict[tuple[int, str], dict] = defaultdict(lambda: {"visits": 0, "walks": 0, "escapes": 0, "newest": None})
    steps = (
        _flow_steps(account_id, window)
        .values("session__matched_flow_id", "flow_node_id")
        .annotate(visits=Count("pk"), escapes=Count("pk", filter=ESCAPED), newest=Max("created_at", filter=ESCAPED))
        .order_by()
    )
    for row in steps:
        node = nodes[(row["session__matched_flow_id"], row["flow_node_id"])]
        node.update(visits=row["visits"], escapes=row["escapes"], newest=row["newest"])
    walks = (
        WalkStep.objects.filter(account_id=account_id, served_at__gte=window.start, walk__kind=Walk.Kind.FLOW,
                                walk__flow__isnull=False, node__type="question")
        .values("walk__flow_id", "node_id").annotate(visits=Count("pk")).order_by()
    )  # fmt: skip
    for row in walks:
        key = (row["walk__flow_id"], row["node_id"])
        if key in nodes:  # a node no session escaped is no gap: its walk visits need not be kept
            nodes[key]["walks"] = row["visits"]
    return {
        key: node
        for key, node in nodes.items()
        if node["escapes"] >= settings.GAP_WEAK_OPTION_MIN_ESCAPES
        and node["escapes"] / (node["visits"] + node["walks"]) >= settings.GAP_WEAK_OPTION_RATE
    }


def _is_question(node, node_id: str) -> bool:
    return isinstance(node, dict) and node.get("id") == node_id and node.get("type") == "question"


def _weak_options(account_id: int, window: _Window, candidates: dict, flows: dict) -> list[Gap]:
    if not candidates:
        return []
    wanted = Q()
    for flow_id, node_id in candidates:
        wanted |= Q(session__matched_flow_id=flow_id, flow_node_id=node_id)
    evidence = _newest_ids(
        _flow_steps(account_id, window).filter(ESCAPED).filter(wanted),
        [F("session__matched_flow_id"), F("flow_node_id")],
        "session_id",
    )
    gaps = []
    for (flow_id, node_id), node in candidates.items():
        flow = flows.get(flow_id)
        question = next((n for n in (flow or {}).get("tree", {}).get("nodes", []) if _is_question(n, node_id)), None)
        if question is None:
            continue  # the flow or its question is gone: nothing left to review
        visits = node["visits"] + node["walks"]
        share = node["escapes"] / visits
        text = " ".join(str(question.get("text", "")).split())
        gaps.append(
            Gap(
                key=f"{WEAK_OPTIONS}:{flow_id}:{node_id}",
                type=WEAK_OPTIONS,
                domain=flow["domain"],
                severity=_severity(share >= settings.GAP_WEAK_OPTION_HIGH_RATE, node["newest"], window),
                title=f"“{text}” — its options often don't fit",
                description=(
                    f"In the flow “{flow['title']}”, this question was answered in free text or skipped "
                    f"{node['escapes']} times out of {visits} visits ({_pct(share)}): its options miss "
                    "what engineers find."
                ),
                evidence=Evidence(
                    counts=[
                        ("Visits", visits),
                        ("Escaped", node["escapes"]),
                        ("Escape rate", _pct(share)),
                        ("Walk visits", node["walks"]),
                    ],
                    session_ids=evidence.get((flow_id, node_id), []),
                    flow_id=flow_id,
                    flow_title=flow["title"],
                    node_id=node_id,
                    node_text=text,
                ),  # fmt: skip
                suggested_action="Read the answers engineers typed instead, and add the options they needed "
                "(or reword the question).",
                action=Action(
                    REVIEW_QUESTION,
                    "Review the flow's question",
                    reverse("admin:flywheel_app_flow_change", args=[flow_id]),
                ),  # fmt: skip
                newest_at=node["newest"],
                size=node["escapes"],
            )
        )
    return gaps


# --- high escalation ----------------------------------------------------------------------


def _escalated_sessions(account_id: int, window: _Window) -> QuerySet:
    """The account's sessions started in the period that finished: resolved, or escalated (ever)."""
    return (
        AISession.objects.filter(account_id=account_id, created_at__gte=window.start)
        .annotate(escalated=session_escalated())
        .filter(Q(status=S.RESOLVED) | Q(escalated=True))
    )


def _walk_domain():
    categories = [When(category=key, then=Value(domain)) for key, domain in CATEGORY_DOMAINS.items()]
    return Coalesce(F("flow__domain"), Case(*categories, default=Value(Domain.OTHER.value)))


def _finished_walks(account_id: int, window: _Window) -> QuerySet:
    return Walk.objects.filter(
        account_id=account_id, created_at__gte=window.start, status__in=[Walk.Status.RESOLVED, Walk.Status.ESCALATED]
    ).annotate(walk_domain=_walk_domain())


def _escalation_candidates(account_id: int, window: _Window) -> dict[str, dict]:
    """{"domain": {domain: counts}, "flow": {flow id: counts}} for the groups over the thresholds."""
    groups: dict[str, dict] = {"domain": {}, "flow": {}}

    def add(kind: str, key, total: int, escalated: int, newest, sessions: int, walks: int) -> None:
        if key is None:
            return
        g = groups[kind].setdefault(key, {"total": 0, "escalated": 0, "newest": None, "sessions": 0, "walks": 0})
        g["total"] += total
        g["escalated"] += escalated
        g["sessions"] += sessions
        g["walks"] += walks
        if newest and (g["newest"] is None or newest > g["newest"]):
            g["newest"] = newest

    sessions = (
        _escalated_sessions(account_id, window)
        .values("problem_domain", "matched_flow_id")
        .annotate(total=Count("pk"), esc=Count("pk", filter=Q(escalated=True)),
                  newest=Max("created_at", filter=Q(escalated=True)))
        .order_by()
    )  # fmt: skip
    for row in sessions:
        counts = (row["total"], row["esc"], row["newest"])
        add("domain", row["problem_domain"], *counts, sessions=row["esc"], walks=0)
        add("flow", row["matched_flow_id"], *counts, sessions=row["esc"], walks=0)
    escalated = Q(status=Walk.Status.ESCALATED)
    walks = (
        _finished_walks(account_id, window)
        .values("walk_domain", "flow_id")
        .annotate(total=Count("pk"), esc=Count("pk", filter=escalated), newest=Max("created_at", filter=escalated))
        .order_by()
    )
    for row in walks:
        counts = (row["total"], row["esc"], row["newest"])
        add("domain", row["walk_domain"], *counts, sessions=0, walks=row["esc"])
        add("flow", row["flow_id"], *counts, sessions=0, walks=row["esc"])
    return {
        kind: {
            key: g
            for key, g in found.items()
            if g["total"] >= settings.GAP_ESCALATION_MIN_VOLUME
            and g["escalated"] / g["total"] >= settings.GAP_ESCALATION_RATE
        }
        for kind, found in groups.items()
    }


def _high_escalation(account_id: int, window: _Window, candidates: dict, flows: dict) -> list[Gap]:
    domains, flow_groups = candidates["domain"], {f: g for f, g in candidates["flow"].items() if f in flows}
    if not domains and not flow_groups:
        return []
    sessions = _escalated_sessions(account_id, window).filter(escalated=True)
    walks = _finished_walks(account_id, window).filter(status=Walk.Status.ESCALATED)
    evidence = {
        ("domain", "sessions"): _newest_ids(sessions.filter(problem_domain__in=domains), [F("problem_domain")], "pk")
        if domains else {},
        ("domain", "walks"): _newest_ids(walks.filter(walk_domain__in=domains), [F("walk_domain")], "pk")
        if domains else {},
        ("flow", "sessions"): _newest_ids(sessions.filter(matched_flow_id__in=flow_groups), [F("matched_flow_id")],
                                          "pk") if flow_groups else {},
        ("flow", "walks"): _newest_ids(walks.filter(flow_id__in=flow_groups), [F("flow_id")], "pk")
        if flow_groups else {},
    }  # fmt: skip
    gaps = []
    for kind, found in (("domain", domains), ("flow", flow_groups)):
        for key, g in found.items():
            rate = g["escalated"] / g["total"]
            session_ids = evidence[(kind, "sessions")].get(key, [])
            walk_ids = evidence[(kind, "walks")].get(key, [])
            counts = [
                ("Sessions and walks", g["total"]), ("Escalated", g["escalated"]), ("Escalation rate", _pct(rate)),
                ("Escalated sessions", g["sessions"]), ("Escalated walks", g["walks"]),
            ]  # fmt: skip
            severity = _severity(rate >= settings.GAP_ESCALATION_HIGH_RATE, g["newest"], window)
            if kind == "flow":
                flow = flows[key]
                gaps.append(
                    Gap(
                        key=f"{HIGH_ESCALATION}:flow:{key}", type=HIGH_ESCALATION, domain=flow["domain"],
                        severity=severity, title=f"The flow “{flow['title']}” often ends in an escalation",
                        description=f"{g['escalated']} of {g['total']} sessions and walks that followed it were "
                        f"escalated ({_pct(rate)}): the flow stops short of the fix engineers need.",
                        evidence=Evidence(counts=counts, session_ids=session_ids, walk_ids=walk_ids, flow_id=key,
                                          flow_title=flow["title"]),
                        suggested_action="Read the escalations it led to, and add the branch or the fix they "
                        "needed to the flow.",
                        action=Action(REVIEW_FLOW, "Review the flow",
                                      reverse("admin:flywheel_app_flow_change", args=[key])),
                        newest_at=g["newest"], size=g["escalated"],
                    )
                )  # fmt: skip
                continue
            label = Domain(key).label if key in Domain.values else key
            action = (
                Action(DRAFT_FLOW, "Draft a flow", reverse("flywheel_gaps:draft_flow"), method="post")
                if session_ids
                else Action(REVIEW_ESCALATIONS, "Review the L1 escalations", reverse("l1_app:escalations"))
            )
            gaps.append(
                Gap(
                    key=f"{HIGH_ESCALATION}:domain:{key}", type=HIGH_ESCALATION, domain=key, severity=severity,
                    title=f"{label} problems are often escalated",
                    description=f"{g['escalated']} of {g['total']} {label} sessions and walks were escalated "
                    f"({_pct(rate)}): the desk lacks a path to resolve them first time.",
                    evidence=Evidence(counts=counts, session_ids=session_ids, walk_ids=walk_ids),
                    suggested_action="Draft a flow from how the escalated sessions were finally resolved, so the "
                    "next one is resolved without a hand-off.",
                    action=action, newest_at=g["newest"], size=g["escalated"],
                )
            )  # fmt: skip
    return gaps


# --- uncharted territory ------------------------------------------------------------------


def _uncharted(account_id: int, window: _Window) -> list[Gap]:
    uncharted = AISession.objects.filter(
        account_id=account_id, status=S.RESOLVED, resolved_at__gte=window.start,
        confidence_tier=AISession.Tier.DISCOVERY, matched_flow__isnull=True,
    )  # fmt: skip
    counts = {
        row["problem_domain"]: row
        for row in uncharted.values("problem_domain").annotate(n=Count("pk"), newest=Max("resolved_at")).order_by()
        if row["n"] >= settings.GAP_UNCHARTED_MIN
    }
    if not counts:
        return []
    evidence = _newest_ids(uncharted.filter(problem_domain__in=counts), [F("problem_domain")], "pk")
    gaps = []
    for domain, row in counts.items():
        label = Domain(domain).label if domain in Domain.values else domain
        gaps.append(
            Gap(
                key=f"{UNCHARTED}:{domain}", type=UNCHARTED, domain=domain,
                severity=_severity(row["n"] >= settings.GAP_UNCHARTED_HIGH, row["newest"], window),
                title=f"{label}: problems solved from scratch",
                description=f"{row['n']} {label} sessions were resolved in discovery mode with no flow to guide "
                "them: each engineer worked it out alone.",
                evidence=Evidence(counts=[("Resolved in discovery, no flow", row["n"])],
                                  session_ids=evidence.get(domain, [])),
                suggested_action="Draft a flow from these sessions, so the next engineer starts guided.",
                action=Action(DRAFT_FLOW, "Draft a flow", reverse("flywheel_gaps:draft_flow"), method="post"),
                newest_at=row["newest"], size=row["n"],
            )
        )  # fmt: skip
    return gaps


# --- repeated pattern --------------------------------------------------------------------


def _repeated(account_id: int, window: _Window) -> list[Gap]:
    # The keywords stored on the session; the summary and symptoms only of a row that has none. The
    # start as text, turned into a datetime only for the sessions that begin a group: reading
    # PATTERN_SESSIONS timestamps costs more than grouping them.
    not_stored = Q(summary_keywords__isnull=True)
    rows = list(
        AISession.objects.filter(account_id=account_id, created_at__gte=window.start, matched_flow__isnull=True)
        .annotate(
            summary_if_needed=Case(When(not_stored, then=F("problem_summary")), default=None),
            # As text (parsed here only when needed): a JSON column would be decoded on every row.
            symptoms_if_needed=Case(When(not_stored, then=Cast("key_symptoms", TextField())), default=None),
            created_text=Cast("created_at", TextField()),
        )
        .order_by("-created_at", "-pk")
        .values_list("pk", "summary_keywords", "summary_if_needed", "symptoms_if_needed", "problem_domain",
                     "created_text")[:PATTERN_SESSIONS]
    )  # fmt: skip
    groups = group_by_shared_keywords(
        [
            (
                pk,
                from_stored(words) if words is not None else keywords(*(json.loads(symptoms or "null") or []), summary),
            )
            for pk, words, summary, symptoms, _, _ in rows
        ],
        shared=settings.GAP_REPEATED_SHARED,
        minimum=settings.GAP_REPEATED_MIN,
    )
    by_pk = {pk: (domain, created) for pk, _, _, _, domain, created in rows}
    gaps = []
    for members, shared, words in groups:
        domain = Counter(by_pk[pk][0] for pk in members).most_common()
        domain = min(d for d, n in domain if n == domain[0][1])
        newest = _as_datetime(by_pk[members[0]][1])  # members are newest first, as the rows
        phrase = ", ".join(words)
        gaps.append(
            Gap(
                key=f"{REPEATED}:{'+'.join(shared[:2])}", type=REPEATED, domain=domain,
                severity=_severity(len(members) >= settings.GAP_REPEATED_HIGH, newest, window),
                title=f"A recurring problem no flow covers: {phrase}",
                description=f"{len(members)} sessions that matched no flow share the words {phrase}: the same "
                "problem keeps coming back and is worked out afresh each time.",
                evidence=Evidence(counts=[("Sessions", len(members)), ("Shared keywords", phrase)],
                                  session_ids=members[:EVIDENCE_LIMIT]),
                suggested_action="Draft a flow from these sessions, with these words as its keywords, so the "
                "next one is matched.",
                action=Action(DRAFT_FLOW, "Draft a flow", reverse("flywheel_gaps:draft_flow"), method="post"),
                newest_at=newest, size=len(members),
            )
        )  # fmt: skip
    return gaps


def _as_datetime(text: str) -> datetime:
    """A timestamp the database gave as text (PostgreSQL: with its offset; SQLite: UTC, none)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def group_by_shared_keywords(
    sessions: list[tuple[int, dict[str, str]]], *, shared: int, minimum: int
) -> list[tuple[list[int], list[str], list[str]]]:
    """Group sessions (id, keywords as from `keywords`, newest first) that share at least `shared`
    keywords, each group at least `minimum` strong: (ids newest first, shared stems, their words).

    Deterministic and greedy: every pair of a session's first PATTERN_WORDS keywords is a candidate
    signature; the signature most sessions share (ties: alphabetical) makes the first group, its
    sessions are taken out, and so on while a signature still has `minimum` sessions left. A group's
    keywords are those all its sessions share (at least the pair, so at least two when `shared` is 2;
    a larger `shared` keeps only groups sharing that many)."""
    stems = {pk: list(words)[:PATTERN_WORDS] for pk, words in sessions}
    surface: dict[str, str] = {}
    for _, words in sessions:
        for stem, word in words.items():
            surface.setdefault(stem, word)
    order = {pk: i for i, (pk, _) in enumerate(sessions)}
    pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, _ in sessions:
        for pair in combinations(sorted(set(stems[pk])), 2):
            pairs[pair].append(pk)
    candidates = sorted((p for p, members in pairs.items() if len(members) >= minimum),
                        key=lambda p: (-len(pairs[p]), p))  # fmt: skip
    taken: set[int] = set()
    groups = []
    for pair in candidates:
        members = [pk for pk in pairs[pair] if pk not in taken]
        if len(members) < minimum:
            continue
        common = set(stems[members[0]])
        for pk in members[1:]:
            common.intersection_update(stems[pk])
        if len(common) < shared:
            continue
        members.sort(key=order.__getitem__)
        rest = sorted(common - set(pair))
        ordered = [*pair, *rest]
        groups.append((members, ordered, [surface[s] for s in ordered]))
        taken.update(members)
    return groups
