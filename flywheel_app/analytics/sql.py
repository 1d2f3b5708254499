"""The SQL pieces the analytics sections share, for PostgreSQL (production, CI) and SQLite (a laptop
with no services): seconds between two timestamps, and a percentile computed by the database.

PostgreSQL has `percentile_cont(f) WITHIN GROUP (ORDER BY x)`; SQLite has no percentile, so the
same aggregate is registered on the SQLite connection as a small Python aggregate with the same
interpolation. Either way a median or a p95 costs one query, whatever the number of rows.
"""

import math

from django.db import connections
from django.db.models import Aggregate, Case, Exists, FloatField, Func, OuterRef, Value, When
from django.db.models.expressions import Expression
from django.db.models.lookups import LessThan

from sessions_app.models import Escalation


class SecondsBetween(Func):
    """`end - start` in seconds (a float; NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def __init__(self, start, end, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))::float", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


class _SqlitePercentile:
    """percentile_cont for SQLite: linear interpolation between the two nearest ranks."""

    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        if value is not None:
            self.values.append(float(value))
            self.fraction = float(fraction)

    def finalize(self):
        return percentile_of(self.values, self.fraction)


def percentile_of(values: list[float], fraction: float) -> float | None:
    """What percentile_cont(fraction) answers for `values` (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _register_sqlite_percentile(connection) -> None:
    connection.ensure_connection()
    connection.connection.create_aggregate("rf_percentile_cont", 2, _SqlitePercentile)


def percentile_sql(connection, column: str, fraction: float) -> str:
    """`Percentile` as raw SQL over a named column, for an aggregate over a subquery (`aggregate_sql`)."""
    if connection.vendor == "sqlite":
        _register_sqlite_percentile(connection)
        return f"rf_percentile_cont({column}, {float(fraction)})"
    return f"percentile_cont({float(fraction)}) WITHIN GROUP (ORDER BY {column})"


def seconds_between_sql(connection, start: str, end: str) -> str:
    """`SecondsBetween` as raw SQL over two named columns, for SQL written by hand (a UNION)."""
    if connection.vendor == "sqlite":
        return f"((julianday({end}) - julianday({start})) * 86400.0)"
    return f"EXTRACT(EPOCH FROM ({end} - {start}))::float"


def _select(columns: dict[str, str | tuple[str, list]]) -> tuple[list[str], str, list]:
    """The names, the select list and its parameters of `columns` (a column is its SQL, or (SQL, its
    parameters) when it compares with values)."""
    names = list(columns)
    parts = [columns[name] if isinstance(columns[name], tuple) else (columns[name], []) for name in names]
    return names, ", ".join(sql for sql, _ in parts), [p for _, column_params in parts for p in column_params]


def aggregate_sql(connection, inner: str, params, columns: dict[str, str | tuple[str, list]]) -> dict:
    """One query: `SELECT <sql> AS <name>, ... FROM (<inner>) rows`, as a dict by name."""
    names, select, select_params = _select(columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM ({inner}) rows", [*select_params, *params])  # noqa: S608  (our own SQL)
        row = cursor.fetchone()
    return dict(zip(names, row, strict=True))


def grouped_over(queryset, group: str, columns: dict[str, str | tuple[str, list]]) -> list[dict]:
    """One query: `SELECT <group>, <sql> AS <name>, ... FROM (<queryset>) rows GROUP BY <group>`, a
    dict per group (its value under `group`). For aggregates over an annotation that is costly to
    compute: Django would repeat the annotation inside every aggregate of `.aggregate()`; here each
    row computes it once."""
    inner, params = queryset.query.sql_with_params()
    names, select, select_params = _select(columns)
    sql = f"SELECT {group}, {select} FROM ({inner}) rows GROUP BY {group}"  # noqa: S608  (our own SQL)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, [*select_params, *params])
        return [dict(zip([group, *names], row, strict=True)) for row in cursor.fetchall()]


class Percentile(Aggregate):
    """The continuous percentile `fraction` (0.5 = median, 0.95 = p95) of an expression."""

    name = "Percentile"
    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        self.fraction = fraction
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        fraction = float(self.fraction)
        return self.as_sql(
            compiler,
            connection,
            template=f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY %(expressions)s)",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        _register_sqlite_percentile(connection)
        fraction = float(self.fraction)
        return self.as_sql(compiler, connection, template=f"rf_percentile_cont(%(expressions)s, {fraction})", **extra)


def floored_at_zero(expression: Expression) -> Case:
    """Negative values count as 0 (a timestamp written a moment before the one it is compared with);
    NULL stays NULL (GREATEST would turn it into 0 on PostgreSQL)."""
    return Case(When(LessThan(expression, 0), then=Value(0.0)), default=expression, output_field=FloatField())


def session_escalated() -> Exists:
    """Whether a session (the row's pk) was ever escalated. EXISTS on the escalation's session
    index: PostgreSQL hashes it when that is cheaper, and otherwise looks each session up — never
    a scan per session, whatever its statistics say (an `IN` of the account's escalations became a
    nested loop over them, 10 million rows, on tables not analysed since they were seeded)."""
    return Exists(Escalation.objects.filter(session=OuterRef("pk")))
