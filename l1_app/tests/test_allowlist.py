"""The account's L1 category allowlist (issue #13 §2): it starts as the ten defaults, once, per
account; a custom category is classified from its own words; what is not allowed is not offered."""

import pytest

from l1_app.categories import DEFAULT_CATEGORIES, UNKNOWN, classify_by_keywords
from l1_app.models import L1Category
from l1_app.selectors import l1_categories_allowed
from l1_app.services.categories import l1_categories_ensure

pytestmark = pytest.mark.django_db


def test_an_account_starts_with_the_ten_defaults_once(tenant_a, tenant_b):
    assert l1_categories_ensure(account=tenant_a.account) == 10
    assert l1_categories_ensure(account=tenant_a.account) == 0, "idempotent"
    keys = list(l1_categories_allowed(account_id=tenant_a.account.pk).values_list("key", flat=True))
    assert keys == [c.key for c in DEFAULT_CATEGORIES]
    assert not L1Category.objects.filter(account=tenant_b.account).exists(), "per account"


def test_an_edited_allowlist_is_kept_and_classifies_custom_and_disallowed_apart(tenant_a):
    l1_categories_ensure(account=tenant_a.account)
    L1Category.objects.filter(account=tenant_a.account, key="printer").update(allowed=False)
    L1Category.objects.create(account=tenant_a.account, key="scanner_jam", label="Scanner paper jam", position=11)
    assert l1_categories_ensure(account=tenant_a.account) == 0, "an edited list is never reset"

    allowed = list(l1_categories_allowed(account_id=tenant_a.account.pk).values("key", "label", "keywords"))
    assert "printer" not in {c["key"] for c in allowed}
    assert classify_by_keywords("The scanner has a paper jam again", allowed) == "scanner_jam"
    assert classify_by_keywords("The quarterly budget spreadsheet is wrong", allowed) == UNKNOWN
