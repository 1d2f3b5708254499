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

from django.db.models import Avg, Count, DateTimeField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Least, NullIf

from facts_app.models import Fact
from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.sql import Percentile, SecondsBetween, floored_at_zero
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


BUCKETS = [
    ("under_1m", "Under 1 min", Q(wait__lt=60)),
    ("m1_5", "1–5 min", Q(wait__gte=60, wait__lt=300)),
    ("m5_15", "5–15 min", Q(wait__gte=300, wait__lt=900)),
    ("m15_60", "15–60 min", Q(wait__gte=900, wait__lt=3600)),
    ("over_1h", "Over 1 hour", Q(wait__gte=3600)),
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
    fixes = SuggestedFix.objects.filter(session_id=session)
    for stamp in ("decided_at", "applied_at", "verified_at"):
        candidates.append(_earliest(fixes.filter(**{f"{stamp}__gte": raised}), stamp))
    first_action = NullIf(Least(*(Coalesce(c, never) for c in candidates)), never)
    return (
        Escalation.objects.filter(account_id=account_id, created_at__gte=since(days))
        .annotate(first_action_at=first_action)
        .annotate(wait=floored_at_zero(SecondsBetween("claimed_at", "first_action_at")))
    )


def _compute(account_id: int, days: int) -> Section:
    aggregates = {
        "raised": Count("pk"),
        "unclaimed": Count("pk", filter=Q(claimed_at__isnull=True)),
        "claimed": Count("pk", filter=Q(claimed_at__isnull=False)),
        "no_action": Count("pk", filter=Q(claimed_at__isnull=False, first_action_at__isnull=True)),
        "acted": Count("pk", filter=Q(wait__isnull=False)),
        "average": Avg("wait"),
        "median": Percentile("wait", 0.5),
        "p95": Percentile("wait", 0.95),
    }
    for key, _label, condition in BUCKETS:
        aggregates[key] = Count("pk", filter=condition)
    s = escalations_timed(account_id, days).aggregate(**aggregates)
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
        bucket_rows = [[label, s[key]] for key, label, _c in BUCKETS]
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
