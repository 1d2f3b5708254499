"""The shared shape of the analytics page (SPEC §8 Analytics, issue 14): periods, sections and
charts, and the per-account cache every section goes through.

A section is computed by a function `section(*, account_id: int, days: int) -> Section` in its own
module (overview, coverage, flow_quality, escalations, psa, ai_cost, gaps). Its numbers come from
SQL aggregates (a fixed number of queries whatever the data size), never Python loops over rows.
Every chart is data first: `columns` and `rows` are what the CSV download serves, `alt` is the
text alternative read in place of the picture; `flywheel_app/analytics/charts.py` draws it (SVG).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
CACHE_SECONDS = 60 * 60


@dataclass(frozen=True)
class Chart:
    """One picture and its data. `kind`: "bar" (one bar per row: label, value), "hbar" (the same,
    horizontal, for long labels), "line" (a trend: first column the x label, each further column a
    series), "stacked" (one bar per row, a segment per further column), "funnel" (label, value in
    order). `unit` labels the values ("sessions", "minutes", "%", "$", "tokens")."""

    key: str
    title: str
    kind: str
    columns: list[str]
    rows: list[list[Any]]
    alt: str
    unit: str = ""


@dataclass(frozen=True)
class Section:
    """One section of the page: its charts, and whatever else its partial shows (`data`)."""

    key: str
    title: str
    charts: list[Chart] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    empty: str = ""  # said instead of the charts when the period has nothing to show

    def chart(self, key: str) -> Chart | None:
        return next((c for c in self.charts if c.key == key), None)


def since(days: int, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def clean_days(value: Any) -> int:
    """A period the page offers (7 / 30 / 90), else the default."""
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_DAYS
    return days if days in PERIODS else DEFAULT_DAYS


def _generation_key(account_id: int) -> str:
    return f"analytics-gen:{account_id}"


def cached(*, account_id: int, days: int, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` cached for an hour per account, period and name. A resolve, an escalation or a
    published flow (`analytics_invalidate`) makes every cached result of the account stale at once."""
    generation = cache.get_or_set(_generation_key(account_id), 1, timeout=None)
    key = f"analytics:{account_id}:{generation}:{days}:{name}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def analytics_invalidate(*, account_id: int) -> None:
    """Something the page counts changed (a session resolved or escalated, a walk finished, a
    flow published): the account's cached analytics and knowledge gaps are computed afresh."""
    key = _generation_key(account_id)
    if not cache.add(key, 2, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 2, timeout=None)
