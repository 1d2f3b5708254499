"""The escalations section: how fast a handoff is taken up, from the claim to the claimer's first
action after it.

The definition (also written on the page): for each escalation raised in the period and claimed,
the *first action* is the earliest of what the claimer recorded in that session after the
escalation was raised — a step they answered (`SessionStep.responded_at`), a lane question or check
they answered (`LaneItem.answered_at`), a fact they added (`Fact.created_at`), a decision on or an
outcome of a suggested fix (`SuggestedFix.decided_at` / `applied_at` / `verified_at`; the claimer
owns the session from the pickup on). The time is from `claimed_at` to that moment, in seconds; an
action stamped a moment before the claim (both written by the same pickup request, or clocks of two
servers apart) gives a negative time, counted as 0. Handoffs nobody claimed are counted apart, and so
are claimed ones with no action yet. Average, median and p95 are computed by the database (one query,
`percentile_cont` on PostgreSQL; the same interpolation on SQLite).
"""

from datetime import UTC, datetime

from django.db import connections
from django.db.models import Case, DateTimeField, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Least, NullIf

from facts_app.models import Fact
from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.sql import SecondsBetween, aggregate_over, floored_at_zero, percentile_sql
from sessions_app.models import Escalation, LaneItem, SessionStep, SuggestedFix

KEY = "escalations"
TITLE = "Escalations"

DEFINITION = (
    "Claim to first action: for each handoff claimed in the period, the seconds from the claim to the "
    "first thing the engineer who claimed it recorded in the session after it was raised — an answered "
    "step, an answered lane question or check, a fact, or a decision or outcome on a suggested fix. A "
    "time below zero (an action stamped a moment before the claim) counts as 0. Handoffs nobody claimed "
    "and claimed ones with no action yet are counted apart, not in the average, median or p95."
)


BUCKETS = [  # key, label, from (s), below (s)
    ("under_1m", "Under 1 min", 0, 60),
    ("m1_5", "1–5 min", 60, 300),
    ("m5_15", "5–15 min", 300, 900),
    ("m15_60", "15–60 min", 900, 3600),
    ("over_1h", "Over 1 hour", 3600, None),
]


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))


def _earliest(queryset, field: str) -> Subquery:
    return Subquery(queryset.order_by(field).values(field)[:1], output_field=DateTimeField())


def escalations_timed(account_id: int, days: int):
    """The account's escalations raised in the period, each with `first_action_at` (None when none)
    and `wait`: seconds from the claim to it, floored at 0 (None when unclaimed or no action)."""
    # Where a kind of action is missing, the far future stands in, so LEAST picks the real ones on
    # every database (SQLite's MIN(a, b) is NULL when one argument is).
    never = Value(datetime(9999, 1, 1, tzinfo=UTC), output_field=DateTimeField())
    session, claimer, raised = OuterRef("session_id"), OuterRef("claimed_by_id"), OuterRef("created_at")
    candidates = [
        _earliest(
            SessionStep.objects.filter(session_id=session, responded_by_id=claimer, responded_at__gte=raised),
            "responded_at",
        ),
        _earliest(
            LaneItem.objects.filter(session_id=session, answered_by_id=claimer, answered_at__gte=raised),
            "answered_at",
        ),
        _earliest(Fact.objects.filter(session_id=session, author_id=claimer, created_at__gte=raised), "created_at"),
    ]

    # A fix's decision, application and verification: one subquery, the earliest stamp after the raise.
    def after_raise(stamp: str) -> Case:
        return Case(When(**{f"{stamp}__gte": raised}, then=F(stamp)), default=never, output_field=DateTimeField())

    fix_stamp = Least(after_raise("decided_at"), after_raise("applied_at"), after_raise("verified_at"))
    candidates.append(_earliest(SuggestedFix.objects.filter(session_id=session).annotate(first=fix_stamp), "first"))
    first_action = NullIf(Least(*(Coalesce(c, never) for c in candidates)), never)
    return (
        Escalation.objects.filter(account_id=account_id, created_at__gte=since(days))
        .annotate(first_action_at=first_action)
        .annotate(wait=floored_at_zero(SecondsBetween("claimed_at", "first_action_at")))
    )


def _compute(account_id: int, days: int) -> Section:
    timed = escalations_timed(account_id, days).values("pk", "claimed_at", "first_action_at", "wait")
    connection = connections[timed.db]
    columns = {
        "raised": "COUNT(*)",
        "unclaimed": "COUNT(*) - COUNT(claimed_at)",
        "claimed": "COUNT(claimed_at)",
        "no_action": "COUNT(claimed_at) - COUNT(first_action_at)",
        "acted": "COUNT(wait)",
        "average": "AVG(wait)",
        "median": percentile_sql(connection, "wait", 0.5),
        "p95": percentile_sql(connection, "wait", 0.95),
    }
    for key, _label, low, high in BUCKETS:
        within = f"wait >= {low}" + (f" AND wait < {high}" if high else "")
        columns[key] = f"COUNT(CASE WHEN {within} THEN 1 END)"
    s = aggregate_over(timed, columns)
    if not s["raised"]:
        return Section(key=KEY, title=TITLE, data={"definition": DEFINITION}, empty="No escalations in this period.")
    stats = {k: round(s[k]) if s[k] is not None else None for k in ("average", "median", "p95")}
    charts = [
        Chart(
            key="handoffs",
            title="Handoffs: raised, claimed, acted on",
            kind="funnel",
            columns=["Stage", "Escalations"],
            rows=[["Raised", s["raised"]], ["Claimed", s["claimed"]], ["Acted on after the claim", s["acted"]]],
            alt=f"{s['raised']} escalations raised, {s['claimed']} claimed ({s['unclaimed']} still unclaimed), "
            f"{s['acted']} with an action after the claim ({s['no_action']} claimed with no action yet).",
            unit="escalations",
        )
    ]
    if s["acted"]:
        charts.append(
            Chart(
                key="claim_to_action",
                title="Claim to first action",
                kind="bar",
                columns=["Statistic", "Seconds"],
                rows=[["Average", stats["average"]], ["Median", stats["median"]], ["p95", stats["p95"]]],
                alt=f"Over {s['acted']} claimed escalations with an action: average {_human(stats['average'])}, "
                f"median {_human(stats['median'])}, p95 {_human(stats['p95'])}.",
                unit="seconds",
            )
        )
        bucket_rows = [[label, s[key]] for key, label, _low, _high in BUCKETS]
        charts.append(
            Chart(
                key="claim_to_action_spread",
                title="How soon claimed handoffs were acted on",
                kind="bar",
                columns=["Time from claim to first action", "Escalations"],
                rows=bucket_rows,
                alt="; ".join(f"{label}: {n}" for label, n in bucket_rows) + ".",
                unit="escalations",
            )
        )
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={
            "definition": DEFINITION,
            "raised": s["raised"],
            "unclaimed": s["unclaimed"],
            "no_action": s["no_action"],
            "acted": s["acted"],
            "average": _human(stats["average"]),
            "median": _human(stats["median"]),
            "p95": _human(stats["p95"]),
        },
    )


def _human(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
