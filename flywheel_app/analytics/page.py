"""The analytics page's sections in the order the page shows them, and the one chart a CSV link asks
for. Each section is computed (or read from the cache) by its own module."""

from collections.abc import Callable

from flywheel_app.analytics import ai_cost, ai_quality, coverage, escalations, flow_quality, gaps, overview, psa
from flywheel_app.analytics.base import Chart, Section
from resolutionflow.errors import NotFound

SECTIONS: dict[str, Callable[..., Section]] = {
    "overview": overview.section,
    "coverage": coverage.section,
    "flow_quality": flow_quality.section,
    "escalations": escalations.section,
    "psa": psa.section,
    "ai_cost": ai_cost.section,
    "ai_quality": ai_quality.section,
    "gaps": gaps.section,
}


def analytics_sections(*, account_id: int, days: int) -> list[Section]:
    return [compute(account_id=account_id, days=days) for compute in SECTIONS.values()]


def analytics_chart(*, account_id: int, days: int, section_key: str, chart_key: str) -> Chart:
    """One chart of one section of the account; NotFound for a section or chart the page has not."""
    compute = SECTIONS.get(section_key)
    if compute is None:
        raise NotFound("No such section.")
    chart = compute(account_id=account_id, days=days).chart(chart_key)
    if chart is None:
        raise NotFound("No such chart.")
    return chart
