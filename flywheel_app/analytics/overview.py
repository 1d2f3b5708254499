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
    St, T = AISession.Status, AISession.Tier
    resolved = Q(status=St.RESOLVED)
    aggregates: dict[str, Any] = {
        "total": Count("pk"),
        "resolved": Count("pk", filter=resolved & Q(escalated=False)),
        "resolved_escalated": Count("pk", filter=resolved & Q(escalated=True)),
        "escalated_open": Count("pk", filter=~resolved & Q(escalated=True)),
        "abandoned": Count("pk", filter=Q(status=St.ABANDONED, escalated=False)),
        "open": Count("pk", filter=~Q(status__in=[St.RESOLVED, St.ABANDONED]) & Q(escalated=False)),
        "first_time": Count("pk", filter=Q(worked=True, worked_after_failure=False)),
        "after_failure": Count("pk", filter=Q(worked_after_failure=True)),
        "not_yet": Count("pk", filter=Q(first_failed_at__isnull=False, worked=False)),
    }
    for tier in T.values:
        aggregates[f"tier_{tier}"] = Count("pk", filter=Q(confidence_tier=tier))
    for domain in Domain.values:
        aggregates[f"domain_{domain}"] = Count("pk", filter=Q(problem_domain=domain))
    for rating in range(1, 6):
        aggregates[f"rating_{rating}"] = Count("pk", filter=Q(rating=rating))
    return sessions_annotated(account_id, days).aggregate(**aggregates)


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
