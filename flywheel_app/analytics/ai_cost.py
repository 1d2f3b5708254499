"""The AI cost section (SPEC §10): tokens — input, output, cache read, cache write — and dollars for
the account, per session, per action and per day; the share of input served from the prompt cache;
the most expensive sessions. Read from `AIUsage` (one row per call the AI door made), in three
queries: sums per action and day (the totals, the actions and the days added up from them), the top
sessions (with how many sessions there were), and those sessions' titles; and fair use (issue 17):
the calls that waited for the account's AI budget or were told to wait, in one query of `AIThrottle`,
with the budget in use right now read live from Redis (one round-trip, not cached)."""

from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.db.models import Count, F, Max, Q, Sum, Window
from django.db.models.functions import Coalesce, TruncDate

from flywheel_app.analytics.base import Chart, Section, cached, since
from resolutionflow.accounts.models import Account
from resolutionflow.ai import budget
from resolutionflow.ai.models import AIThrottle, AIUsage
from sessions_app.models import AISession

KEY = "ai_cost"
TITLE = "AI cost"
TOP_SESSIONS = 10
TOKEN_KINDS = [
    ("input_tokens", "Input"),
    ("output_tokens", "Output"),
    ("cache_read_tokens", "Cache read"),
    ("cache_write_tokens", "Cache write"),
]


def section(*, account_id: int, days: int) -> Section:
    found = cached(account_id=account_id, days=days, name=KEY, compute=lambda: _compute(account_id, days))
    return replace(found, data={**found.data, "budget": budget_now(account_id=account_id)})


def budget_now(*, account_id: int) -> dict:
    """The account's AI budget and how much of it is in use this moment (live, never cached)."""
    account = SimpleNamespace(pk=account_id, slug=_slug(account_id))
    in_use = budget.in_use(account_id)
    rows = []
    for priority, label in ((budget.Priority.INTERACTIVE, "Live"), (budget.Priority.BACKGROUND, "Background")):
        limits = budget.limits_for(account, priority)
        rows.append(
            {
                "label": label,
                "in_use": in_use[priority.value],
                "concurrency": limits.concurrency,
                "per_minute": limits.per_minute,
            }
        )
    return {"rows": rows, "provider_paused_for": round(budget.provider_paused_for())}


def _slug(account_id: int) -> str:
    """Only an account named in AI_BUDGET_OVERRIDES needs its slug read."""
    if not settings.AI_BUDGET_OVERRIDES:
        return ""
    return Account.objects.filter(pk=account_id).values_list("slug", flat=True).first() or ""


def _fair_use(account_id: int, days: int, provider_throttled: int) -> dict:
    """Calls that waited for a slot (and how long), calls told to wait, and the provider's 429/529s."""
    T = AIThrottle
    waited = Q(outcome=T.Outcome.WAITED)
    told = Q(outcome=T.Outcome.TOLD_TO_WAIT)
    row = AIThrottle.objects.filter(account_id=account_id, created_at__gte=since(days)).aggregate(
        waited=Count("pk", filter=waited),
        total_ms=Coalesce(Sum("waited_ms", filter=waited), 0),
        longest_ms=Coalesce(Max("waited_ms", filter=waited), 0),
        told=Count("pk", filter=told),
        told_background=Count("pk", filter=told & Q(priority="background")),
        told_provider=Count("pk", filter=told & Q(reason=T.Reason.PROVIDER)),
    )
    return {
        "waited": row["waited"],
        "waited_s": round(row["total_ms"] / 1000, 1),
        "longest_s": round(row["longest_ms"] / 1000, 1),
        "told": row["told"],
        "told_background": row["told_background"],
        "told_provider": row["told_provider"],
        "provider_throttled": provider_throttled,
    }


def _sums() -> dict:
    sums = {field: Coalesce(Sum(field), 0) for field, _label in TOKEN_KINDS}
    sums["cost"] = Coalesce(Sum("cost_usd"), Decimal("0"))
    sums["calls"] = Count("pk")
    sums["throttled"] = Count("pk", filter=Q(outcome__in=[AIUsage.Outcome.RATE_LIMITED, AIUsage.Outcome.OVERLOADED]))
    return sums


def cache_share(*, input_tokens: int, cache_read_tokens: int, cache_write_tokens: int) -> float | None:
    """The share of input tokens served from the prompt cache: read / (uncached + read + written)."""
    whole = input_tokens + cache_read_tokens + cache_write_tokens
    return cache_read_tokens / whole if whole else None


def _dollars(value) -> float:
    return round(float(value or 0), 4)


def _add(into: dict, row: dict) -> None:
    for key in (*(f for f, _label in TOKEN_KINDS), "cost", "calls", "throttled", "session_cost"):
        into[key] = into.get(key, 0) + row[key]


def _compute(account_id: int, days: int) -> Section:
    usage = AIUsage.objects.filter(account_id=account_id, created_at__gte=since(days))
    on_sessions = Q(subject_type="session", subject_id__isnull=False)
    # One scan for the totals, the actions and the days: sums per (action, day), added up here — at
    # most (actions x days) rows, whatever the number of calls.
    cells = (
        usage.annotate(day=TruncDate("created_at"))
        .values("action", "day")
        .annotate(**_sums(), session_cost=Coalesce(Sum("cost_usd", filter=on_sessions), Decimal("0")))
        .order_by()
    )
    totals: dict = {}
    actions: dict[str, dict] = {}
    day_costs: dict = {}
    for cell in cells:
        _add(totals, cell)
        _add(actions.setdefault(cell["action"], {"action": cell["action"]}), cell)
        day_costs[cell["day"]] = day_costs.get(cell["day"], 0) + cell["cost"]
    fair_use = _fair_use(account_id, days, totals.get("throttled", 0))
    if not totals:
        return Section(key=KEY, title=TITLE, empty="No AI calls in this period.", data={"fair_use": fair_use})
    per_action = sorted(actions.values(), key=lambda a: (-a["cost"], a["action"]))
    per_day = [{"day": day, "cost": cost} for day, cost in sorted(day_costs.items())]
    # The sessions counted are the groups of the same query (a window over them), not another scan.
    top = list(
        usage.filter(on_sessions)
        .values("subject_id")
        .annotate(cost=Sum("cost_usd"), calls=Count("pk"), sessions=Window(Count("subject_id")),
                  # One sum of the four (never NULL): one aggregate per session, not four.
                  tokens=Sum(F("input_tokens") + F("output_tokens") + F("cache_read_tokens")
                             + F("cache_write_tokens")))
        .order_by("-cost", "subject_id")[:TOP_SESSIONS]
    )  # fmt: skip
    totals["sessions"] = top[0]["sessions"] if top else 0
    titles = dict(
        AISession.objects.filter(account_id=account_id, pk__in=[t["subject_id"] for t in top]).values_list(
            "pk", "problem_summary"
        )
    )
    share = cache_share(
        input_tokens=totals["input_tokens"],
        cache_read_tokens=totals["cache_read_tokens"],
        cache_write_tokens=totals["cache_write_tokens"],
    )
    per_session = totals["session_cost"] / totals["sessions"] if totals["sessions"] else None
    expensive = [
        {
            "id": t["subject_id"],
            "title": titles.get(t["subject_id"]) or f"Session {t['subject_id']}",
            "exists": t["subject_id"] in titles,
            "cost": _dollars(t["cost"]),
            "tokens": t["tokens"],
            "calls": t["calls"],
        }
        for t in top
    ]
    action_rows = [[a["action"], _dollars(a["cost"]), a["calls"]] for a in per_action]
    charts = [
        Chart(
            key="cost_per_day",
            title="Dollars per day",
            kind="line",
            columns=["Day", "Dollars"],
            rows=[[d["day"].strftime("%b %d"), _dollars(d["cost"])] for d in per_day],
            alt=f"${_dollars(totals['cost'])} over {len(per_day)} days with AI calls; the highest day "
            f"${max(_dollars(d['cost']) for d in per_day)}.",
            unit="$",
        ),
        Chart(
            key="cost_per_action",
            title="Dollars per action",
            kind="hbar",
            columns=["Action", "Dollars", "Calls"],
            rows=action_rows,
            alt="; ".join(f"{a}: ${c} in {n} calls" for a, c, n in action_rows) + ".",
            unit="$",
        ),
        Chart(
            key="tokens_per_action",
            title="Tokens per action",
            kind="stacked",
            columns=["Action"] + [label for _f, label in TOKEN_KINDS],
            rows=[[a["action"]] + [a[f] for f, _label in TOKEN_KINDS] for a in per_action],
            alt="; ".join(
                f"{a['action']}: " + ", ".join(f"{a[f]} {label.lower()}" for f, label in TOKEN_KINDS)
                for a in per_action
            )
            + " tokens.",
            unit="tokens",
        ),
        Chart(
            key="prompt_cache",
            title="Input tokens by where they came from",
            kind="stacked",
            columns=["Input", "Read from the prompt cache", "Written to the cache", "Not cached"],
            rows=[
                [
                    "All calls",
                    totals["cache_read_tokens"],
                    totals["cache_write_tokens"],
                    totals["input_tokens"],
                ]
            ],
            alt=f"{round(100 * share) if share is not None else 0}% of input tokens were read from the prompt "
            f"cache: {totals['cache_read_tokens']} read, {totals['cache_write_tokens']} written, "
            f"{totals['input_tokens']} not cached.",
            unit="tokens",
        ),
    ]
    if expensive:
        charts.append(
            Chart(
                key="expensive_sessions",
                title="The most expensive sessions",
                kind="hbar",
                columns=["Session", "Dollars", "Tokens", "Calls", "Session id"],
                rows=[[e["title"], e["cost"], e["tokens"], e["calls"], e["id"]] for e in expensive],
                alt="; ".join(f"{e['title']}: ${e['cost']}" for e in expensive) + ".",
                unit="$",
            )
        )
    return Section(
        key=KEY,
        title=TITLE,
        charts=charts,
        data={
            "total_cost": _dollars(totals["cost"]),
            "calls": totals["calls"],
            "tokens": {label: totals[f] for f, label in TOKEN_KINDS},
            "sessions": totals["sessions"],
            "per_session": _dollars(per_session) if per_session is not None else None,
            "cache_share": round(100 * share, 1) if share is not None else None,
            "expensive": expensive,
            "fair_use": fair_use,
        },
    )
