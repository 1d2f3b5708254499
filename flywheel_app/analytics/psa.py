"""The PSA section: what became of the notes pushed to tickets (SPEC §9) — the push funnel, the
failures and their reasons, and the retries. Two queries: one aggregate row, the top error messages."""

from django.db.models import Count, Q

from flywheel_app.analytics.base import Chart, Section, cached, since
from flywheel_app.analytics.charts import listed
from sessions_app.models import TicketPush

KEY = "psa"
TITLE = "PSA pushes"
TOP_ERRORS = 8


def section(*, account_id: int, days: int) -> Section:
    return cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))


def _compute(account_id: int, days: int) -> Section:
    S = TicketPush.Status
    pushes = TicketPush.objects.filter(account_id=account_id, created_at__gte=since(days))
    s = pushes.aggregate(
        total=Count("pk"),
        posted=Count("pk", filter=Q(status=S.POSTED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        local=Count("pk", filter=Q(status=S.LOCAL)),
        pending=Count("pk", filter=Q(status=S.PENDING)),
        retried=Count("pk", filter=Q(attempts__gt=1)),
        retried_posted=Count("pk", filter=Q(attempts__gt=1, status=S.POSTED)),
        attempts_1=Count("pk", filter=Q(attempts__lte=1)),
        attempts_2=Count("pk", filter=Q(attempts=2)),
        attempts_3=Count("pk", filter=Q(attempts=3)),
        attempts_4=Count("pk", filter=Q(attempts__gte=4)),
    )
    if not s["total"]:
        return Section(key=KEY, title=TITLE, empty="Nothing was pushed to a ticket in this period.")
    errors = list(
        pushes.filter(status=S.FAILED)
        .values("error")
        .annotate(n=Count("pk"))
        .order_by("-n", "error")
        .values_list("error", "n")[:TOP_ERRORS]
    )
    to_ticket = s["total"] - s["local"]
    status_rows = [
        ["Posted", s["posted"]],
        ["Failed", s["failed"]],
        ["Posting", s["pending"]],
        ["Kept here (no ticket)", s["local"]],
    ]
    charts = [
        Chart(
            key="funnel",
            title="Push funnel",
            kind="funnel",
            columns=["Stage", "Pushes"],
            rows=[["Pushes made", s["total"]], ["To a ticket", to_ticket], ["Posted", s["posted"]]],
            alt=f"{s['total']} pushes made, {to_ticket} to a ticket ({s['local']} kept here with no ticket), "
            f"{s['posted']} posted, {s['failed']} failed, {s['pending']} still posting.",
            unit="pushes",
        ),
        Chart(
            key="status",
            title="Pushes by status",
            kind="bar",
            columns=["Status", "Pushes"],
            rows=status_rows,
            alt=listed(status_rows, "pushes"),
            unit="pushes",
        ),
        Chart(
            key="attempts",
            title="Attempts per push",
            kind="bar",
            columns=["Attempts", "Pushes"],
            rows=[["1", s["attempts_1"]], ["2", s["attempts_2"]], ["3", s["attempts_3"]], ["4+", s["attempts_4"]]],
            alt=f"{s['retried']} pushes needed more than one attempt; {s['retried_posted']} of them were posted "
            "in the end.",
            unit="pushes",
        ),
    ]
    if errors:
        error_rows = [[message, n] for message, n in errors]
        charts.append(
            Chart(
                key="failures",
                title="Why pushes failed",
                kind="hbar",
                columns=["Error", "Failed pushes"],
                rows=error_rows,
                alt="The most frequent errors of failed pushes: " + listed(error_rows, "pushes"),
                unit="pushes",
            )
        )
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={
            "total": s["total"],
            "posted": s["posted"],
            "failed": s["failed"],
            "retried": s["retried"],
            "success_rate": round(100.0 * s["posted"] / to_ticket, 1) if to_ticket else None,
        },
    )
