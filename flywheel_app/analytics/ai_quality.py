"""The AI quality section (issue 16 §2): what the people who read the AI's output thought of it —
the share of down-votes by output (and the AI action and model behind it) and by domain, why people
said "not helpful", and the latest such votes with links to their sessions. Three queries: votes
grouped by output kind, action, model and domain (a bounded number of groups, summed here), down-votes
by reason, and the latest down-votes."""

from typing import Any

from django.db.models import Count, Q

from facts_app.models import AIFeedback
from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.charts import listed
from resolutionflow.taxonomy import Domain

KEY = "ai_quality"
TITLE = "AI quality"
LATEST = 8


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _share_alt(rows: list[list[Any]]) -> str:
    return "; ".join(f"{r[0]}: {r[1]:g}% not helpful ({r[3]} of {r[2]} votes)" for r in rows) + "."


def _share_rows(groups: dict[Any, list[int]], label) -> list[list[Any]]:
    """[label, % not helpful, votes, not helpful], the worst first."""
    rows = [[label(key), _percent(down, votes), votes, down] for key, (votes, down) in groups.items()]
    return sorted(rows, key=lambda r: (-r[1], -r[2], str(r[0])))


def _compute(account_id: int, days: int) -> Section:
    down = Q(vote=AIFeedback.Vote.DOWN)
    votes = AIFeedback.objects.filter(account_id=account_id, updated_at__gte=since(days))
    grouped = list(
        votes.values("kind", "action", "model", "session__problem_domain")
        .annotate(votes=Count("pk"), down=Count("pk", filter=down))
        .order_by()
    )
    if not grouped:
        return Section(key=KEY, title=TITLE, empty="No one rated an AI output in this period.")
    by_kind: dict[str, list[int]] = {}
    by_domain: dict[str, list[int]] = {}
    by_model: dict[tuple[str, str], list[int]] = {}
    for g in grouped:
        for groups, key in (
            (by_kind, g["kind"]),
            (by_domain, g["session__problem_domain"]),
            (by_model, (g["action"], g["model"])),
        ):
            total = groups.setdefault(key, [0, 0])
            total[0] += g["votes"]
            total[1] += g["down"]
    kinds, domains = dict(AIFeedback.Kind.choices), dict(Domain.choices)
    kind_rows = _share_rows(by_kind, lambda k: kinds.get(k, k))
    domain_rows = _share_rows(by_domain, lambda d: domains.get(d, d))
    model_rows = [
        [action.replace("_", " ").capitalize(), model, _percent(down_n, n), n, down_n]
        for (action, model), (n, down_n) in sorted(by_model.items(), key=lambda item: (-item[1][0], item[0]))
    ]
    reasons = dict(AIFeedback.Reason.choices)
    reason_rows = [
        [reasons.get(reason, reason), n]
        for reason, n in votes.filter(down)
        .values("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
        .values_list("reason", "n")
    ]
    latest = [
        {**row, "kind_label": kinds.get(row["kind"], row["kind"]), "reason_label": reasons.get(row["reason"], "")}
        for row in votes.filter(down)
        .order_by("-updated_at", "-id")
        .values("kind", "reason", "comment", "updated_at", "session_id", "session__problem_summary")[:LATEST]
    ]
    total = sum(n for n, _ in by_kind.values())
    total_down = sum(d for _, d in by_kind.values())
    charts = [
        Chart(
            key="by_output",
            title="Not helpful, by output",
            kind="hbar",
            columns=["Output", "Not helpful %", "Votes", "Not helpful"],
            rows=kind_rows,
            alt=_share_alt(kind_rows),
            unit="%",
        ),
        Chart(
            key="by_domain",
            title="Not helpful, by domain",
            kind="hbar",
            columns=["Domain", "Not helpful %", "Votes", "Not helpful"],
            rows=domain_rows,
            alt=_share_alt(domain_rows),
            unit="%",
        ),
        Chart(
            key="by_model",
            title="Votes by AI action and model",
            kind="table",
            columns=["AI action", "Model", "Not helpful %", "Votes", "Not helpful"],
            rows=model_rows,
            alt="Per AI action and the model that ran it: the share of not-helpful votes, and the votes.",
        ),
    ]
    if reason_rows:
        charts.append(
            Chart(
                key="reasons",
                title="Why it was not helpful",
                kind="hbar",
                columns=["Reason", "Votes"],
                rows=reason_rows,
                alt=listed(reason_rows, "votes"),
                unit="votes",
            )
        )
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={"votes": total, "down": total_down, "down_share": _percent(total_down, total), "latest": latest},
    )
