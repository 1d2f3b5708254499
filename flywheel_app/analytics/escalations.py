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

from django.db import connections

from facts_app.models import Fact
from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.sql import aggregate_sql, percentile_sql, seconds_between_sql
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


# Where a first action can come from: the model, its column naming who acted (None: a fix's stamps,
# by whoever owns the session — the claimer from the pickup on) and its timestamp column.
ACTION_SOURCES = [
    (SessionStep, "responded_by", "responded_at"),
    (LaneItem, "answered_by", "answered_at"),
    (Fact, "author", "created_at"),
    (SuggestedFix, None, "decided_at"),
    (SuggestedFix, None, "applied_at"),
    (SuggestedFix, None, "verified_at"),
]


def _sources(connection) -> list[tuple]:
    """ACTION_SOURCES as (model, actor, [stamps]): on PostgreSQL the stamps of one model and actor
    are read in one join (the earliest qualifying of each row, LEAST skipping NULLs) — one pass over
    the fixes, not three; SQLite's scalar MIN answers NULL for any NULL argument, so there each
    stamp keeps a join of its own. Either way the MIN per escalation is the same."""
    if connection.vendor != "postgresql":
        return [(model, actor, [stamp]) for model, actor, stamp in ACTION_SOURCES]
    merged: dict[tuple, list[str]] = {}
    for model, actor, stamp in ACTION_SOURCES:
        merged.setdefault((model, actor), []).append(stamp)
    return [(model, actor, stamps) for (model, actor), stamps in merged.items()]


def _column(model, name: str) -> str:
    return f"a.{model._meta.get_field(name).column}"


def escalations_timed_sql(account_id: int, days: int, connection) -> tuple[str, list]:
    """SQL of the account's escalations raised in the period, one row each: `claimed_at`,
    `first_action_at` (NULL when unclaimed or nothing done yet) and `wait`, the seconds from the
    claim to it floored at 0.

    Set-based and plan-proof: one UNION ALL of (escalation, its claim, a candidate action) — each
    branch a join of the escalations to one kind of action on the session (an index lookup at
    worst; a fix's three stamps in one branch on PostgreSQL, see `_sources`), plus every escalation
    once with no action — reduced with MIN per escalation. No subquery per escalation, and no join
    against the union that a planner short of statistics could turn into a rescan of it per
    escalation."""
    e = Escalation._meta.db_table
    raised = f"{e}.account_id = %s AND {e}.created_at >= %s"
    start = connection.ops.adapt_datetimefield_value(since(days))
    branches, params = [], []
    for model, actor, stamps in _sources(connection):
        by = f" AND {_column(model, actor)} = {e}.claimed_by_id" if actor else ""
        # The session alone joins (it is the account's): with its index, the only one the join can
        # use, a planner short of statistics still looks each escalation's actions up, never scans.
        table, session = model._meta.db_table, _column(model, "session")
        after = [f"{_column(model, stamp)} >= {e}.created_at" for stamp in stamps]
        on = f"{session} = {e}.session_id AND ({' OR '.join(after)})"
        if len(stamps) == 1:
            action = _column(model, stamps[0])
        else:  # the earliest of the row's stamps made after the escalation (LEAST skips NULLs)
            action = (
                "LEAST("
                + ", ".join(
                    f"CASE WHEN {a} THEN {_column(model, stamp)} END" for a, stamp in zip(after, stamps, strict=True)
                )
                + ")"
            )
        select = f"SELECT {e}.id AS escalation_id, {e}.claimed_at AS claimed_at, {action} AS action_at"
        where = f"{raised} AND {e}.claimed_by_id IS NOT NULL"
        branches.append(f"{select} FROM {e} JOIN {table} a ON {on}{by} WHERE {where}")  # noqa: S608  (model names)
        params += [account_id, start]
    branches.append(f"SELECT {e}.id, {e}.claimed_at, NULL FROM {e} WHERE {raised}")  # noqa: S608
    params += [account_id, start]
    seconds = seconds_between_sql(connection, "claimed_at", "first_action_at")
    sql = f"""
        SELECT claimed_at, first_action_at, CASE WHEN seconds < 0 THEN 0.0 ELSE seconds END AS wait
        FROM (
            SELECT claimed_at, first_action_at, {seconds} AS seconds
            FROM (
                SELECT escalation_id, MIN(claimed_at) AS claimed_at, MIN(action_at) AS first_action_at
                FROM ({" UNION ALL ".join(branches)}) actions
                GROUP BY escalation_id
            ) firsts
        ) timed
    """  # noqa: S608  (our own SQL; the values are parameters)
    return sql, params


def _compute(account_id: int, days: int) -> Section:
    connection = connections[Escalation.objects.db]
    timed_sql, params = escalations_timed_sql(account_id, days, connection)
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
    s = aggregate_sql(connection, timed_sql, params, columns)
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
