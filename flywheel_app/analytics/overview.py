"""The overview section: how fast the desk resolves, how it is rated, what it works on, how sessions
end, and whether fixes work in the end. Two queries whatever the data size: one aggregate row for
the counts, one grouped by day (week, for 90 days) for the time-to-resolution trend."""

from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate, TruncWeek

from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.charts import listed
from flywheel_app.analytics.sql import Percentile, SecondsBetween
from resolutionflow.taxonomy import Domain
from sessions_app.models import AISession, Escalation, SuggestedFix

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


def sessions_annotated(account_id: int, days: int):
    """The account's sessions started in the period, with whether they were escalated and how their
    fixes went. A session that failed a fix and later succeeded is one session: it counts once."""
    S = SuggestedFix.Outcome
    fixes = SuggestedFix.objects.filter(session=OuterRef("pk"))
    first_failed = (
        SuggestedFix.objects.filter(session=OuterRef("pk"), outcome=S.APPLIED_FAILED)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return (
        AISession.objects.filter(account_id=account_id, created_at__gte=since(days))
        .annotate(
            escalated=Exists(Escalation.objects.filter(session=OuterRef("pk"))),
            first_failed_at=Subquery(first_failed),
            worked=Exists(fixes.filter(outcome=S.APPLIED_SUCCESS)),
        )
        .annotate(
            worked_after_failure=Exists(
                SuggestedFix.objects.filter(
                    session=OuterRef("pk"), outcome=S.APPLIED_SUCCESS, created_at__gt=OuterRef("first_failed_at")
                )
            )
        )
    )


def _counts(account_id: int, days: int) -> dict[str, int]:
    """Three queries whatever the data size: the plain counts, then how the sessions ended and how
    their fixes went, grouped by those few flags (at most 5 x 2 x 2 x 2 x 2 rows): each session's
    subqueries run once, not once per count."""
    St, T = AISession.Status, AISession.Tier
    plain: dict[str, Any] = {"total": Count("pk")}
    for tier in T.values:
        plain[f"tier_{tier}"] = Count("pk", filter=Q(confidence_tier=tier))
    for domain in Domain.values:
        plain[f"domain_{domain}"] = Count("pk", filter=Q(problem_domain=domain))
    for rating in range(1, 6):
        plain[f"rating_{rating}"] = Count("pk", filter=Q(rating=rating))
    counts = AISession.objects.filter(account_id=account_id, created_at__gte=since(days)).aggregate(**plain)
    for key in ("resolved", "resolved_escalated", "escalated_open", "abandoned", "open", "first_time",
                "after_failure", "not_yet"):  # fmt: skip
        counts[key] = 0
    groups = (
        sessions_annotated(account_id, days)
        .annotate(failed_once=Exists(SuggestedFix.objects.filter(session=OuterRef("pk"), outcome="applied_failed")))
        .values("status", "escalated", "worked", "worked_after_failure", "failed_once")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for g in groups:
        resolved, escalated, n = g["status"] == St.RESOLVED, g["escalated"], g["n"]
        if resolved:
            counts["resolved_escalated" if escalated else "resolved"] += n
        elif escalated:
            counts["escalated_open"] += n
        else:
            counts["abandoned" if g["status"] == St.ABANDONED else "open"] += n
        if g["worked_after_failure"]:
            counts["after_failure"] += n
        elif g["worked"]:
            counts["first_time"] += n
        elif g["failed_once"]:
            counts["not_yet"] += n
    return counts


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
