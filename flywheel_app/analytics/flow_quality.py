"""(placeholder: the flow quality section of the analytics page, being written)"""

from flywheel_app.analytics.base import Section


def section(*, account_id: int, days: int) -> Section:
    return Section(key="flow_quality", title="flow quality".capitalize(), empty="Coming soon.")
