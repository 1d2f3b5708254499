"""The overview section: how fast the desk resolves, how it is rated, what it works on, how sessions
end, and whether fixes work in the end. Two queries whatever the data size: one row per domain for
the counts (each session once, its fixes and escalations joined to it; shared with the coverage
section, which shows them per domain: one scan of the sessions for both), one grouped by day (week,
for 90 days) for the time-to-resolution trend."""

from typing import Any

from django.db import connections
from django.db.models import Avg, Count, Max, Min, Q
from django.db.models.functions import TruncDate, TruncWeek

from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.charts import listed
from flywheel_app.analytics.sql import Percentile, SecondsBetween, grouped_over, seconds_between_sql, session_escalated
from resolutionflow.taxonomy import Domain
from sessions_app.models import AISession, ResolutionCode, SuggestedFix

KEY = "overview"
TITLE = "Overview"

OUTCOMES = [
    ("resolved", "Resolved, no escalation"),
    ("resolved_escalated", "Resolved after escalation"),
    ("escalated_open", "Escalated, not resolved yet"),
    ("abandoned", "Abandoned"),
    ("open", "Still open"),
]
FIX_RESULTS = [
    ("first_time", "Worked first time"),
    ("after_failure", "Worked after a failed fix"),
    ("not_yet", "Failed, not fixed yet"),
]


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))


def sessions_with_fix_stamps(account_id: int, days: int):
    """The account's sessions started in the period, one row each (grouped by session, its fixes
    joined once): whether it was escalated, when a fix first failed and when one last worked."""
    S = SuggestedFix.Outcome
    return (
        AISession.objects.filter(account_id=account_id, created_at__gte=since(days))
        .annotate(
            first_failed_at=Min("fixes__created_at", filter=Q(fixes__outcome=S.APPLIED_FAILED)),
            last_worked_at=Max("fixes__created_at", filter=Q(fixes__outcome=S.APPLIED_SUCCESS)),
        )
        .annotate(escalated=session_escalated())
        .values("status", "confidence_tier", "problem_domain", "rating", "escalated", "first_failed_at",
                "last_worked_at", "matched_flow_id", "created_at", "resolved_at", "resolution_code")
        .order_by()
    )  # fmt: skip


def _count_where(condition: str, params: list | None = None) -> tuple[str, list]:
    return f"COUNT(CASE WHEN {condition} THEN 1 END)", params or []


def sessions_by_domain(account_id: int, days: int) -> list[dict]:
    """The account's sessions started in the period, per domain (cached): what the overview counts
    (added up over the domains) and what the coverage section shows per domain. One scan of the
    sessions serves both sections."""
    return cached(account_id=account_id, days=days, name="sessions_by_domain",
                  compute=lambda: _sessions_by_domain(account_id, days))  # fmt: skip


def _columns(connection) -> dict[str, str | tuple[str, list]]:
    St = AISession.Status
    resolved, abandoned = f"status = '{St.RESOLVED}'", f"status = '{St.ABANDONED}'"
    escalated = "escalated"
    after_failure = "last_worked_at > first_failed_at"
    minutes = f"{seconds_between_sql(connection, 'created_at', 'resolved_at')} / 60.0"
    columns: dict[str, str | tuple[str, list]] = {"total": "COUNT(*)"}
    for tier in AISession.Tier.values:
        columns[f"tier_{tier}"] = _count_where("confidence_tier = %s", [tier])
    for rating in range(1, 6):
        columns[f"rating_{rating}"] = _count_where(f"rating = {rating}")
    columns |= {
        "resolved": _count_where(f"{resolved} AND NOT {escalated}"),
        "resolved_escalated": _count_where(f"{resolved} AND {escalated}"),
        "escalated_open": _count_where(f"NOT {resolved} AND {escalated}"),
        "abandoned": _count_where(f"{abandoned} AND NOT {escalated}"),
        "open": _count_where(f"NOT {resolved} AND NOT {abandoned} AND NOT {escalated}"),
        "after_failure": _count_where(after_failure),
        "first_time": _count_where(
            "last_worked_at IS NOT NULL AND (first_failed_at IS NULL OR last_worked_at <= first_failed_at)"
        ),
        "not_yet": _count_where("first_failed_at IS NOT NULL AND last_worked_at IS NULL"),
        # The coverage section's, per domain (AVG skips the NULL of a session not resolved).
        "cov_resolved": _count_where(resolved),
        "cov_escalated": _count_where(escalated),
        "cov_guided": _count_where("confidence_tier = %s", [AISession.Tier.GUIDED]),
        "cov_uncovered": _count_where("matched_flow_id IS NULL"),
        AVERAGE_MINUTES: f"AVG(CASE WHEN {resolved} THEN {minutes} END)",
    }
    for code in RESOLUTION_CODES:  # how the resolved ones ended (issue 16), per domain for coverage
        columns[f"code_{code or 'none'}"] = _count_where(f"{resolved} AND resolution_code = %s", [code])
    return columns


AVERAGE_MINUTES = "cov_minutes"
# The codes in the order Resolve offers them; sessions resolved before codes existed come last.
RESOLUTION_CODES = [*[code for code in ResolutionCode.values if code], ResolutionCode.NOT_RECORDED]


def _sessions_by_domain(account_id: int, days: int) -> list[dict]:
    """One query whatever the data size: each session once (its fixes grouped with it), counted per
    domain by tier, rating, how it ended and how its fixes went — a session that failed a fix and
    later succeeded (a fix that worked made after the first that failed) is one session: it counts
    once — and, for the coverage, how many were resolved, escalated, guided or matched no flow, and
    the average minutes to resolve."""
    queryset = sessions_with_fix_stamps(account_id, days)
    return grouped_over(queryset, "problem_domain", _columns(connections[queryset.db]))


def _counts(account_id: int, days: int) -> dict[str, int]:
    """The overview's counts: the per-domain counts added up (whole numbers: the sums are exact)."""
    rows = sessions_by_domain(account_id, days)
    keys = [k for k in _columns(connections[AISession.objects.db]) if k != AVERAGE_MINUTES]
    counts = {k: sum(r[k] for r in rows) for k in keys}
    per_domain = {r["problem_domain"]: r["total"] for r in rows}  # the rows are the domains
    return counts | {f"domain_{domain}": per_domain.get(domain, 0) for domain in Domain.values}


def _trend(account_id: int, days: int) -> list[list[Any]]:
    bucket = TruncWeek("resolved_at") if days > 30 else TruncDate("resolved_at")
    minutes = SecondsBetween("created_at", "resolved_at") / 60.0
    rows = (
        AISession.objects.filter(account_id=account_id, status=AISession.Status.RESOLVED, resolved_at__gte=since(days))
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(median=Percentile(minutes, 0.5), average=Avg(minutes), n=Count("pk"))
        .order_by("bucket")
    )
    return [
        [r["bucket"].strftime("%b %d"), round(r["median"] or 0, 1), round(r["average"] or 0, 1), r["n"]] for r in rows
    ]


def _compute(account_id: int, days: int) -> Section:
    c = _counts(account_id, days)
    trend = _trend(account_id, days)
    per = "week" if days > 30 else "day"
    if not c["total"] and not trend:
        return Section(key=KEY, title=TITLE, empty="No sessions in this period yet.")

    charts = []
    if trend:
        last = trend[-1]
        charts.append(
            Chart(
                key="time_to_resolution",
                title=f"Time to resolution, per {per}",
                kind="line",
                columns=[per.capitalize(), "Median minutes", "Average minutes", "Sessions resolved"],
                rows=trend,
                alt=f"Minutes from start to resolve, per {per}, over {len(trend)} {per}s; the latest {per} "
                f"({last[0]}): median {last[1]}, average {last[2]}, {last[3]} resolved.",
                unit="minutes",
            )
        )
    outcome_rows = [[label, c[key]] for key, label in OUTCOMES]
    charts.append(
        Chart(
            key="outcomes",
            title="Resolved vs escalated",
            kind="hbar",
            columns=["Outcome", "Sessions"],
            rows=outcome_rows,
            alt=listed(outcome_rows, "sessions"),
            unit="sessions",
        )
    )
    fix_rows = [[label, c[key]] for key, label in FIX_RESULTS]
    charts.append(
        Chart(
            key="eventual_success",
            title="Eventual success of suggested fixes",
            kind="bar",
            columns=["Result", "Sessions"],
            rows=fix_rows,
            alt="Sessions with a fix outcome: "
            + listed(fix_rows, "sessions")
            + " A session that failed a fix and later succeeded counts once.",
            unit="sessions",
        )
    )
    rating_rows = [[f"{n} ★", c[f"rating_{n}"]] for n in range(1, 6)]
    charts.append(
        Chart(
            key="ratings",
            title="Ratings of resolved sessions",
            kind="bar",
            columns=["Rating", "Sessions"],
            rows=rating_rows,
            alt="Ratings from 1 to 5 stars: " + listed(rating_rows, "sessions"),
            unit="sessions",
        )
    )
    domain_rows = sorted(
        ([label, c[f"domain_{value}"]] for value, label in Domain.choices if c[f"domain_{value}"]),
        key=lambda r: -r[1],
    )
    charts.append(
        Chart(
            key="domains",
            title="Sessions by domain",
            kind="hbar",
            columns=["Domain", "Sessions"],
            rows=domain_rows,
            alt=listed(domain_rows, "sessions"),
            unit="sessions",
        )
    )
    tier_rows = [[label, c[f"tier_{value}"]] for value, label in AISession.Tier.choices]
    charts.append(
        Chart(
            key="tiers",
            title="Sessions by confidence tier",
            kind="bar",
            columns=["Tier", "Sessions"],
            rows=tier_rows,
            alt=listed(tier_rows, "sessions"),
            unit="sessions",
        )
    )
    rated = sum(c[f"rating_{n}"] for n in range(1, 6))
    average_rating = sum(n * c[f"rating_{n}"] for n in range(1, 6)) / rated if rated else None
    resolved = c["resolved"] + c["resolved_escalated"]
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={
            "total": c["total"],
            "resolved": resolved,
            "escalated": c["resolved_escalated"] + c["escalated_open"],
            "average_rating": round(average_rating, 1) if average_rating else None,
            "eventual_success": c["first_time"] + c["after_failure"],
        },
    )
