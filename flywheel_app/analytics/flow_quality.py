"""Flow quality (SPEC §8 Analytics, issue 14): how each authored flow of the account fares.

For the period: each flow's usage (engineer sessions that matched it, L1 walks of it), its success
rate, when it was last matched, whether it is published; the top and bottom flows; the flows that
need attention; L1 deflection per flow; and, for a flow walked often enough, where its walks go
node by node. Five queries whatever the data size (aggregates grouped in SQL), cached per account
and period.

Definitions (shown on the page too):
- a *use* is a matched session or a flow walk started in the period; a use is *finished* when the
  session is resolved, awaiting pickup or abandoned, or the walk is resolved, escalated or abandoned;
- *success rate* = resolved sessions + resolved walks, over finished uses;
- an *escalation* is a matched session escalated at least once, or an escalated walk;
- *needs attention*: a flow with ≥ MIN_USES finished uses and a success rate under LOW_SUCCESS; or
  with ≥ MANY_ESCALATIONS escalations making ≥ ESCALATION_SHARE of its finished uses; or a
  published flow not matched for STALE_DAYS days (never matched: counted from its creation);
- *top / bottom*: flows with ≥ MIN_USES finished uses, by success rate: the better half (at most
  RANKED, best first) and the rest (at most RANKED, worst first);
- *L1 deflection* = walks resolved (no escalation), over walks resolved or escalated; abandoned
  walks have no known outcome and are counted apart;
- a walk *exits* at its last answered node when it ends escalated or abandoned (nothing answered:
  at its first node, before any answer);
- path statistics are shown for a flow with ≥ MIN_WALKS_FOR_PATHS walks in the period.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone

from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.models import Flow
from l1_app.models import Walk, WalkStep
from sessions_app.models import AISession

MIN_USES = 5
LOW_SUCCESS = 0.5
MANY_ESCALATIONS = 3
ESCALATION_SHARE = 0.3
STALE_DAYS = 30
MIN_WALKS_FOR_PATHS = 10
RANKED = 3  # flows shown at the top and at the bottom

NOTHING_ANSWERED = ""  # the exit of a walk that answered nothing
_SESSION_FINISHED = (AISession.Status.RESOLVED, AISession.Status.REQUESTING_ESCALATION, AISession.Status.ABANDONED)


@dataclass
class FlowRow:
    id: int
    title: str
    domain: str
    published: bool
    usage_total: int  # all time, kept by the flywheel (Flow.usage_count)
    success_total: int
    last_matched_at: datetime | None
    created_at: datetime
    sessions: int = 0
    sessions_finished: int = 0
    sessions_resolved: int = 0
    sessions_escalated: int = 0
    walks: int = 0
    walks_resolved: int = 0
    walks_escalated: int = 0
    walks_abandoned: int = 0
    attention: list[str] = field(default_factory=list)

    @property
    def uses(self) -> int:
        return self.sessions + self.walks

    @property
    def finished(self) -> int:
        return self.sessions_finished + self.walks_resolved + self.walks_escalated + self.walks_abandoned

    @property
    def successes(self) -> int:
        return self.sessions_resolved + self.walks_resolved

    @property
    def escalations(self) -> int:
        return self.sessions_escalated + self.walks_escalated

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.finished if self.finished else None

    @property
    def success_rate_total(self) -> float | None:
        return self.success_total / self.usage_total if self.usage_total else None

    @property
    def deflection(self) -> float | None:
        decided = self.walks_resolved + self.walks_escalated
        return self.walks_resolved / decided if decided else None

    @property
    def ranked(self) -> bool:
        return self.finished >= MIN_USES


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name="flow_quality", compute=lambda: _compute(account_id, days))


def _compute(account_id: int, days: int, *, now: datetime | None = None) -> Section:
    now = now or timezone.now()
    start = since(days, now=now)
    flows, ai_built = _flow_rows(account_id, start)
    if not flows:
        return Section(
            key="flow_quality",
            title="Flow quality",
            empty="The account has no flows yet: approve a proposal or write one to see how it fares.",
        )
    for row in flows.values():
        row.attention = _attention(row, now=now)
    ordered = sorted(flows.values(), key=lambda r: (-r.uses, r.title))
    ranked = sorted((r for r in ordered if r.ranked), key=lambda r: (-(r.success_rate or 0), -r.finished, r.title))
    # The better half (at most RANKED) is the top, the rest (worst first, at most RANKED) the bottom:
    # with few ranked flows no flow is both.
    top = ranked[: min(RANKED, (len(ranked) + 1) // 2)]
    bottom = list(reversed(ranked[len(top) :]))[:RANKED]
    paths = _paths(account_id, start, flows)
    charts = [_usage_chart(ordered), _success_chart(ranked), _deflection_chart(ordered, ai_built)]
    return Section(
        key="flow_quality",
        title="Flow quality",
        charts=charts + [c for p in paths for c in p["charts"]],
        data={
            "flows": [_flow_dict(r) for r in ordered],
            "top": [_flow_dict(r) for r in top],
            "bottom": [_flow_dict(r) for r in bottom],
            "attention": [_flow_dict(r) for r in ordered if r.attention],
            "overview_charts": charts,
            "ai_built": ai_built,
            "paths": paths,
            "thresholds": {
                "min_uses": MIN_USES,
                "low_success_pct": round(LOW_SUCCESS * 100),
                "many_escalations": MANY_ESCALATIONS,
                "escalation_share_pct": round(ESCALATION_SHARE * 100),
                "stale_days": STALE_DAYS,
                "min_walks": MIN_WALKS_FOR_PATHS,
            },
            "days": days,
        },
    )


# --- the queries -------------------------------------------------------------------------------


def _flow_rows(account_id: int, start: datetime) -> tuple[dict[int, FlowRow], dict[str, Any]]:
    """Query 1 (flows), 2 (matched sessions per flow) and 3 (walks per flow, and the AI-built walks
    a flow's deflection is compared with)."""
    flows = {
        f["id"]: FlowRow(
            id=f["id"],
            title=f["title"],
            domain=f["domain"],
            published=f["published"],
            usage_total=f["usage_count"],
            success_total=f["success_count"],
            last_matched_at=f["last_matched_at"],
            created_at=f["created_at"],
        )
        for f in Flow.objects.filter(account_id=account_id).values(
            "id", "title", "domain", "published", "usage_count", "success_count", "last_matched_at", "created_at"
        )
    }
    if not flows:
        return flows, {}
    sessions = (
        AISession.objects.filter(account_id=account_id, created_at__gte=start, matched_flow__isnull=False)
        .values("matched_flow_id")
        .annotate(
            n=Count("id", distinct=True),
            finished=Count("id", filter=Q(status__in=_SESSION_FINISHED), distinct=True),
            resolved=Count("id", filter=Q(status=AISession.Status.RESOLVED), distinct=True),
            escalated=Count("id", filter=Q(escalations__isnull=False), distinct=True),
            last=Max("created_at"),
        )
        .order_by()
    )
    for s in sessions:
        row = flows.get(s["matched_flow_id"])
        if row is None:
            continue
        row.sessions, row.sessions_finished = s["n"], s["finished"]
        row.sessions_resolved, row.sessions_escalated = s["resolved"], s["escalated"]
        row.last_matched_at = _latest(row.last_matched_at, s["last"])
    S = Walk.Status
    walks = (
        Walk.objects.filter(account_id=account_id, created_at__gte=start)
        .filter(Q(kind=Walk.Kind.FLOW, flow__isnull=False) | Q(kind=Walk.Kind.AI_BUILT))
        .values("kind", "flow_id")
        .annotate(
            n=Count("id"),
            resolved=Count("id", filter=Q(status=S.RESOLVED)),
            escalated=Count("id", filter=Q(status=S.ESCALATED)),
            abandoned=Count("id", filter=Q(status=S.ABANDONED)),
            last=Max("created_at"),
        )
        .order_by()
    )
    ai_built: dict[str, int] = {"n": 0, "resolved": 0, "escalated": 0, "abandoned": 0}
    for w in walks:
        if w["kind"] == Walk.Kind.AI_BUILT:
            for k in ai_built:
                ai_built[k] += w[k]
            continue
        row = flows.get(w["flow_id"])
        if row is None:
            continue
        row.walks, row.walks_resolved = w["n"], w["resolved"]
        row.walks_escalated, row.walks_abandoned = w["escalated"], w["abandoned"]
        row.last_matched_at = _latest(row.last_matched_at, w["last"])
    return flows, _ai_built(ai_built)


def _ai_built(row: dict[str, int]) -> dict[str, Any]:
    resolved, escalated = row.get("resolved", 0), row.get("escalated", 0)
    return {
        "walks": row.get("n", 0),
        "resolved": resolved,
        "escalated": escalated,
        "abandoned": row.get("abandoned", 0),
        "deflection_pct": _pct(resolved, resolved + escalated),
    }


def _paths(account_id: int, start: datetime, flows: dict[int, FlowRow]) -> list[dict[str, Any]]:
    """Queries 4 (steps per flow, node and answer) and 5 (exits per flow and node); only for the
    flows walked often enough, each with its charts and its answer shares."""
    walked = {fid: r for fid, r in flows.items() if r.walks}
    if not walked:
        return []
    ready = [fid for fid, r in walked.items() if r.walks >= MIN_WALKS_FOR_PATHS]
    nodes: dict[int, dict[str, dict[str, Any]]] = {fid: {} for fid in ready}
    exits: dict[int, dict[str, int]] = {fid: {} for fid in ready}
    if ready:
        steps = (
            WalkStep.objects.filter(
                account_id=account_id,
                walk__account_id=account_id,
                walk__kind=Walk.Kind.FLOW,
                walk__created_at__gte=start,
                walk__flow_id__in=ready,
            )
            .values("walk__flow_id", "node_id", "answer", "answer_label")
            .annotate(n=Count("id"), first=Min("order"), node_type=Max(KT("node__type")), text=Max(KT("node__text")))
            .order_by()
        )
        for s in steps:
            node = nodes[s["walk__flow_id"]].setdefault(
                s["node_id"],
                {"id": s["node_id"], "text": s["text"] or s["node_id"], "type": s["node_type"] or "", "visits": 0,
                 "answered": 0, "answers": {}, "depth": s["first"]},
            )  # fmt: skip
            node["visits"] += s["n"]
            node["depth"] = min(node["depth"], s["first"])
            if s["answer"]:
                node["answered"] += s["n"]
                label = s["answer_label"] or s["answer"]
                node["answers"][label] = node["answers"].get(label, 0) + s["n"]
        last_answered = (
            WalkStep.objects.filter(walk=OuterRef("pk"), answered_at__isnull=False).order_by("-order").values("node_id")
        )
        exited = (
            Walk.objects.filter(
                account_id=account_id,
                kind=Walk.Kind.FLOW,
                created_at__gte=start,
                flow_id__in=ready,
                status__in=(Walk.Status.ESCALATED, Walk.Status.ABANDONED),
            )
            .annotate(exit_node=Subquery(last_answered[:1]))
            .values("flow_id", "exit_node")
            .annotate(n=Count("id"))
            .order_by()
        )
        for e in exited:
            exits[e["flow_id"]][e["exit_node"] or NOTHING_ANSWERED] = e["n"]
    paths = []
    for fid, row in sorted(walked.items(), key=lambda kv: (-kv[1].walks, kv[1].title)):
        if fid not in nodes:
            paths.append({"flow": _flow_dict(row), "ready": False, "missing": MIN_WALKS_FOR_PATHS - row.walks,
                          "charts": [], "nodes": [], "exits": []})  # fmt: skip
            continue
        paths.append(_path(row, nodes[fid], exits[fid]))
    return paths


def _path(row: FlowRow, nodes: dict[str, dict[str, Any]], exits: dict[str, int]) -> dict[str, Any]:
    ordered = sorted(nodes.values(), key=lambda n: (n["depth"], -n["visits"], n["id"]))
    texts = {n["id"]: n["text"] for n in ordered}
    node_rows = []
    for n in ordered:
        answers = sorted(n["answers"].items(), key=lambda kv: (-kv[1], kv[0]))
        node_rows.append({
            "id": n["id"], "text": n["text"], "type": n["type"], "visits": n["visits"], "answered": n["answered"],
            "left_unanswered": n["visits"] - n["answered"] if n["type"] in ("question", "instruction") else 0,
            "answers": [{"label": label, "count": c, "pct": _pct(c, n["answered"])} for label, c in answers],
        })  # fmt: skip
    exit_rows = [
        {"node": "(before any answer)" if node == NOTHING_ANSWERED else texts.get(node, node), "walks": n}
        for node, n in sorted(exits.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    in_progress = row.walks - row.walks_resolved - row.walks_escalated - row.walks_abandoned
    endings = [["Resolved", row.walks_resolved], ["Escalated", row.walks_escalated],
               ["Abandoned", row.walks_abandoned], ["In progress", in_progress]]  # fmt: skip
    key = f"path-{row.id}"
    visits = Chart(
        key=f"{key}-visits",
        title=f"{row.title}: visits per step",
        kind="hbar",
        columns=["Step", "Visits"],
        rows=[[_short(n["text"]), n["visits"]] for n in node_rows],
        alt=f"{row.title}, {row.walks} walks. Visits per step: "
        + "; ".join(f"{_short(n['text'])}: {n['visits']}" for n in node_rows)
        + ".",
        unit="walks",
    )
    exit_chart = Chart(
        key=f"{key}-exits",
        title=f"{row.title}: where escalated and abandoned walks left",
        kind="hbar",
        columns=["Last answered step", "Walks"],
        rows=[[_short(e["node"]), e["walks"]] for e in exit_rows],
        alt=(
            "Escalated and abandoned walks by their last answered step: "
            + "; ".join(f"{_short(e['node'])}: {e['walks']}" for e in exit_rows)
            + "."
            if exit_rows
            else "No walk of this flow was escalated or abandoned."
        ),
        unit="walks",
    )
    ending_chart = Chart(
        key=f"{key}-endings",
        title=f"{row.title}: how walks ended",
        kind="bar",
        columns=["Ending", "Walks"],
        rows=endings,
        alt="How the walks ended: " + "; ".join(f"{label}: {n}" for label, n in endings) + ".",
        unit="walks",
    )
    return {
        "flow": _flow_dict(row),
        "ready": True,
        "missing": 0,
        "charts": [visits, exit_chart, ending_chart],
        "nodes": node_rows,
        "exits": exit_rows,
    }


# --- judgement and presentation ------------------------------------------------------------------


def _attention(row: FlowRow, *, now: datetime) -> list[str]:
    reasons = []
    rate = row.success_rate
    if row.ranked and rate is not None and rate < LOW_SUCCESS:
        reasons.append(f"Low success: {_pct(row.successes, row.finished)}% of {row.finished} finished uses.")
    if row.escalations >= MANY_ESCALATIONS and row.finished and row.escalations / row.finished >= ESCALATION_SHARE:
        reasons.append(f"Many escalations: {row.escalations} of {row.finished} finished uses.")
    # A flow never matched is judged from its creation: a flow published yesterday is not stale.
    seen = row.last_matched_at or row.created_at
    if row.published and seen < now - timedelta(days=STALE_DAYS):
        reasons.append(
            f"Not matched for {(now - seen).days} days."
            if row.last_matched_at
            else f"Never matched in the {(now - seen).days} days since it was written."
        )
    return reasons


def _flow_dict(row: FlowRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "domain": row.domain,
        "published": row.published,
        "sessions": row.sessions,
        "walks": row.walks,
        "uses": row.uses,
        "finished": row.finished,
        "successes": row.successes,
        "escalations": row.escalations,
        "success_pct": _pct(row.successes, row.finished),
        "ranked": row.ranked,
        "usage_total": row.usage_total,
        "success_total": row.success_total,
        "success_total_pct": _pct(row.success_total, row.usage_total),
        "last_matched_at": row.last_matched_at,
        "walks_resolved": row.walks_resolved,
        "walks_escalated": row.walks_escalated,
        "walks_abandoned": row.walks_abandoned,
        "deflection_pct": _pct(row.walks_resolved, row.walks_resolved + row.walks_escalated),
        "attention": list(row.attention),
    }


def _usage_chart(rows: list[FlowRow]) -> Chart:
    used = [r for r in rows if r.uses]
    return Chart(
        key="flow-usage",
        title="Use of each flow",
        kind="stacked",
        columns=["Flow", "Engineer sessions", "L1 walks"],
        rows=[[r.title, r.sessions, r.walks] for r in used],
        alt=(
            "Use of each flow in the period: "
            + "; ".join(f"{r.title}: {r.sessions} sessions, {r.walks} walks" for r in used)
            + "."
            if used
            else "No flow was used in the period."
        ),
        unit="uses",
    )


def _success_chart(ranked: list[FlowRow]) -> Chart:
    return Chart(
        key="flow-success",
        title=f"Success rate (flows with at least {MIN_USES} finished uses)",
        kind="hbar",
        columns=["Flow", "Success rate"],
        rows=[[r.title, _pct(r.successes, r.finished)] for r in ranked],
        alt=(
            "Success rate, best first: "
            + "; ".join(f"{r.title}: {_pct(r.successes, r.finished)}% of {r.finished}" for r in ranked)
            + "."
            if ranked
            else f"No flow has {MIN_USES} finished uses in the period yet."
        ),
        unit="%",
    )


def _deflection_chart(rows: list[FlowRow], ai_built: dict[str, Any]) -> Chart:
    walked = [r for r in rows if r.walks_resolved + r.walks_escalated]
    data = [[r.title, _pct(r.walks_resolved, r.walks_resolved + r.walks_escalated)] for r in walked]
    if ai_built["deflection_pct"] is not None:
        data.append(["AI-built walks (no flow)", ai_built["deflection_pct"]])
    return Chart(
        key="flow-deflection",
        title="L1 deflection: walks resolved without escalation",
        kind="hbar",
        columns=["Flow", "Deflection"],
        rows=data,
        alt=(
            "Share of finished L1 walks resolved without escalation: "
            + "; ".join(f"{label}: {pct}%" for label, pct in data)
            + "."
            if data
            else "No L1 walk was resolved or escalated in the period."
        ),
        unit="%",
    )


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((d for d in (a, b) if d is not None), default=None)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
