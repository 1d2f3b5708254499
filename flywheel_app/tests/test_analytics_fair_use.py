"""The AI-cost view's fair-use part (issue 17): the account's AI budget in use now, the calls that
waited for it or were told to wait, and the provider's 429/529s — this account's only."""

import pytest

from flywheel_app.analytics import ai_cost
from resolutionflow.ai import budget
from resolutionflow.ai.models import AIThrottle, AIUsage

pytestmark = pytest.mark.django_db

URL = "/manage/analytics/"


def _throttle(tenant, *, outcome, reason="concurrency", priority="interactive", waited_ms=0):
    AIThrottle.objects.create(
        account=tenant.account, action="session_turn", priority=priority, reason=reason, outcome=outcome,
        waited_ms=waited_ms, retry_after_s=3 if outcome == "told_to_wait" else None,
    )  # fmt: skip


def test_waits_refusals_and_provider_throttles_are_counted_for_the_account_only(tenant_a, tenant_b, settings):
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 5
    _throttle(tenant_a, outcome="waited", waited_ms=1200)
    _throttle(tenant_a, outcome="waited", waited_ms=300)
    _throttle(tenant_a, outcome="told_to_wait", priority="background")
    _throttle(tenant_a, outcome="told_to_wait", reason="provider")
    _throttle(tenant_b, outcome="told_to_wait")
    for outcome in ("ok", "rate_limited", "overloaded"):
        AIUsage.objects.create(
            account=tenant_a.account, action="session_turn", tier="strong", model="m", outcome=outcome
        )
    AIUsage.objects.create(
        account=tenant_b.account, action="session_turn", tier="strong", model="m", outcome="overloaded"
    )
    slot = budget.acquire(account=tenant_a.account, priority=budget.Priority.INTERACTIVE, wait=0)

    data = ai_cost.section(account_id=tenant_a.account.pk, days=30).data

    assert data["fair_use"] == {
        "waited": 2, "waited_s": 1.5, "longest_s": 1.2, "told": 2, "told_background": 1, "told_provider": 1,
        "provider_throttled": 2,
    }  # fmt: skip
    live, background = data["budget"]["rows"]
    assert (live["in_use"], live["concurrency"]) == (1, 5)
    assert background["in_use"] == 0
    budget.release(slot)
    # The budget in use is live, the rest cached: a second read sees the slot given back.
    assert ai_cost.section(account_id=tenant_a.account.pk, days=30).data["budget"]["rows"][0]["in_use"] == 0


def test_the_admin_sees_fair_use_on_the_analytics_page(client, tenant_a, django_assert_max_num_queries):
    _throttle(tenant_a, outcome="told_to_wait", reason="provider")
    AIUsage.objects.create(account=tenant_a.account, action="session_turn", tier="strong", model="m", outcome="ok")
    budget.provider_pause(20)
    client.force_login(tenant_a.admin)

    page = client.get(URL).content.decode()

    assert 'data-testid="ai-fair-use"' in page
    assert "Told to wait" in page and "The provider is throttling us now" in page
    client.get(URL)  # the sections cached
    with django_assert_max_num_queries(12):
        assert "Live AI calls now" in client.get(URL).content.decode()
