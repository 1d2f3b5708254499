"""(placeholder: the gaps section of the analytics page, being written)"""

from flywheel_app.analytics.base import Section


def section(*, account_id: int, days: int) -> Section:
    return Section(key="gaps", title="gaps".capitalize(), empty="Coming soon.")
