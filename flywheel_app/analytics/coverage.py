"""The coverage section: per domain, how many published flows there are, how many sessions came in,
how they ended (resolution, escalation and guided rates), how long a resolve took, and how many
sessions no flow covered (no flow matched), and how the resolved ones ended (their resolution codes,
issue 16). Two queries: sessions grouped by domain (the overview's query, shared:
`overview.sessions_by_domain`), flows by domain."""

from typing import Any

from django.db.models import Count

from flywheel_app.analytics.base import Chart, Section, cached
from flywheel_app.analytics.charts import listed
from flywheel_app.analytics.overview import AVERAGE_MINUTES, RESOLUTION_CODES, sessions_by_domain
from flywheel_app.models import Flow
from resolutionflow.taxonomy import Domain
from sessions_app.models import ResolutionCode

KEY = "coverage"
TITLE = "Coverage"


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


_CODES = RESOLUTION_CODES


def _by_code(sessions: dict[str, dict], labels: dict[str, str]) -> Chart:
    """Resolved sessions per domain, one segment per resolution code ("Not recorded" only when some are)."""
    codes = [c for c in _CODES if c or any(r["code_none"] for r in sessions.values())]
    rows = [
        [labels.get(domain, domain), *[r[f"code_{c or 'none'}"] for c in codes]]
        for domain, r in sorted(sessions.items(), key=lambda item: (-item[1]["resolved"], item[0]))
        if r["resolved"]
    ]
    names = [ResolutionCode(c).label for c in codes]
    return Chart(
        key="resolution_codes",
        title="How resolves ended, by domain",
        kind="stacked",
        columns=["Domain", *names],
        rows=rows,
        alt="; ".join(
            f"{row[0]}: " + ", ".join(f"{n} {name.lower()}" for n, name in zip(row[1:], names, strict=True) if n)
            for row in rows
        )
        + "."
        if rows
        else "No session was resolved in this period.",
        unit="sessions",
    )


def _compute(account_id: int, days: int) -> Section:
    sessions = {
        r["problem_domain"]: {
            "sessions": r["total"],
            "resolved": r["cov_resolved"],
            "escalated_n": r["cov_escalated"],
            "guided": r["cov_guided"],
            "uncovered": r["cov_uncovered"],
            "minutes": r[AVERAGE_MINUTES],
            **{f"code_{code or 'none'}": r[f"code_{code or 'none'}"] for code in RESOLUTION_CODES},
        }
        for r in sessions_by_domain(account_id, days)
    }
    flows = dict(
        Flow.objects.filter(account_id=account_id, published=True)
        .values("domain")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("domain", "n")
    )
    if not sessions and not flows:
        return Section(key=KEY, title=TITLE, empty="No sessions or published flows yet.")

    labels = dict(Domain.choices)
    table: list[list[Any]] = []
    for domain in sorted(set(sessions) | set(flows), key=lambda d: (-(sessions.get(d) or {}).get("sessions", 0), d)):
        r = sessions.get(domain) or {"sessions": 0, "resolved": 0, "escalated_n": 0, "guided": 0, "uncovered": 0}
        n = r["sessions"]
        table.append(
            [
                labels.get(domain, domain),
                flows.get(domain, 0),
                n,
                _percent(r["resolved"], n),
                _percent(r["escalated_n"], n),
                _percent(r["guided"], n),
                round(r["minutes"], 1) if r.get("minutes") is not None else "",
                r["uncovered"],
            ]
        )
    with_sessions = [row for row in table if row[2]]
    covered_rows = [[row[0], row[2] - row[7], row[7]] for row in with_sessions]
    uncovered_total = sum(row[7] for row in table)
    thin = [row for row in with_sessions if row[7] and not row[1]]
    charts = [
        Chart(
            key="by_domain",
            title="Coverage by domain",
            kind="table",
            columns=[
                "Domain",
                "Published flows",
                "Sessions",
                "Resolved %",
                "Escalated %",
                "Guided %",
                "Avg minutes to resolve",
                "No flow covers",
            ],
            rows=table,
            alt="Per domain: published flows, sessions, resolution, escalation and guided rates, average "
            "minutes to resolve, and sessions no flow covers.",
        ),
        Chart(
            key="flow_coverage",
            title="Sessions a flow covered, by domain",
            kind="stacked",
            columns=["Domain", "A flow matched", "No flow covers"],
            rows=covered_rows,
            alt="; ".join(f"{r[0]}: {r[1]} matched a flow, {r[2]} no flow covers" for r in covered_rows) + ".",
            unit="sessions",
        ),
        Chart(
            key="resolution_rate",
            title="Resolution rate by domain",
            kind="hbar",
            columns=["Domain", "Resolved %"],
            rows=[[row[0], row[3]] for row in with_sessions],
            alt=listed([[row[0], row[3]] for row in with_sessions], "% resolved"),
            unit="%",
        ),
        Chart(
            key="escalation_rate",
            title="Escalation rate by domain",
            kind="hbar",
            columns=["Domain", "Escalated %"],
            rows=[[row[0], row[4]] for row in with_sessions],
            alt=listed([[row[0], row[4]] for row in with_sessions], "% escalated"),
            unit="%",
        ),
        _by_code(sessions, labels),
    ]
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={"uncovered": uncovered_total, "thin_domains": [row[0] for row in thin]},
    )
