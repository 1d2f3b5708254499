"""Writes of l1_app. So far: the account's L1 category allowlist starts as the ten defaults."""

from django.db import transaction

from l1_app.categories import DEFAULT_CATEGORIES
from l1_app.models import L1Category
from resolutionflow.accounts.models import Account


@transaction.atomic
def l1_categories_ensure(*, account: Account) -> int:
    """Give an account with no L1 categories the ten defaults (allowed). Idempotent: an account
    that has any category, its own or edited defaults, is left as it is. Returns how many were made."""
    if L1Category.objects.filter(account=account).exists():
        return 0
    made = L1Category.objects.bulk_create(
        [
            L1Category(
                account=account,
                key=c.key,
                label=c.label,
                description=c.description,
                keywords=list(c.keywords),
                position=n,
            )
            for n, c in enumerate(DEFAULT_CATEGORIES)
        ],  # fmt: skip
        ignore_conflicts=True,  # two first intakes at once: the unique key keeps one set
    )
    return len(made)
