"""Writes of the account's L1 category allowlist (SPEC §7 "Safety"; issue #13 §2): it starts as the
ten defaults; owners and admins add, edit, allow or disallow, and delete the ones they added.

Each write is atomic and leaves an audit row ("l1_category.create|update|delete|allow|disallow").
Refusals raise InvalidInput with a sentence to show, and change nothing. The hard floor
(l1_app/safety.py) lies below whatever this list says: no category lifts it.
"""

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from l1_app.categories import DEFAULT_CATEGORIES, UNKNOWN
from l1_app.forms import MAX_DESCRIPTION_CHARS, MAX_KEYWORD_CHARS, MAX_KEYWORDS, MAX_LABEL_CHARS, keywords_normalise
from l1_app.models import L1Category
from resolutionflow.accounts.models import Account, User
from resolutionflow.accounts.services import audit_record
from resolutionflow.errors import InvalidInput, NotFound

MAX_KEY_CHARS = 64  # L1Category.key


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


def l1_category_key(label: str) -> str:
    """The key a new category gets from its label: "Scanner paper jam" → "scanner_paper_jam"
    (the defaults' style), at most 64 characters."""
    return slugify(label).replace("-", "_")[:MAX_KEY_CHARS].strip("_")


def _clean_label(label: str) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise InvalidInput("Give the category a label, e.g. Scanner paper jam.", field="label")
    if len(label) > MAX_LABEL_CHARS:
        raise InvalidInput(f"Keep the label short (at most {MAX_LABEL_CHARS} characters).", field="label")
    return label


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if not description:
        raise InvalidInput(
            "Say what an L1 tech may do for this category: the AI-built walk keeps to it.", field="description"
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"Keep the description to {MAX_DESCRIPTION_CHARS} characters.", field="description")
    return description


def _clean_keywords(keywords: list[str]) -> list[str]:
    if isinstance(keywords, str):
        raise InvalidInput("Keywords are a list of words and short phrases.", field="keywords")
    keywords = keywords_normalise(keywords)
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidInput(f"Give at most {MAX_KEYWORDS} keywords (you gave {len(keywords)}).", field="keywords")
    if any(len(k) > MAX_KEYWORD_CHARS for k in keywords):
        raise InvalidInput(f"Keep each keyword to {MAX_KEYWORD_CHARS} characters.", field="keywords")
    return keywords


def _refuse_a_label_taken(*, account_id: int, label: str, key: str = "", but: L1Category | None = None) -> None:
    """Two categories of one account never share a key, nor a label (ignoring case): the tech and
    the classifier could not tell them apart."""
    others = L1Category.objects.filter(account_id=account_id)
    if but is not None:
        others = others.exclude(pk=but.pk)
    taken = others.filter(label__iexact=label).first() or (others.filter(key=key).first() if key else None)
    if taken is not None:
        raise InvalidInput(
            f"There is already a category “{taken.label}”; edit that one, or choose another label.", field="label"
        )


@transaction.atomic
def l1_category_create(
    *, account: Account, actor: User | None, label: str, description: str, keywords: list[str]
) -> L1Category:
    """A category the account adds, allowed, after the others. Its key is made from the label and
    must be free in the account."""
    label = _clean_label(label)
    key = l1_category_key(label)
    if not key:
        raise InvalidInput(
            "The label needs letters or digits (a–z, 0–9): the category's key is made from them.", field="label"
        )
    if key == UNKNOWN:
        raise InvalidInput(
            "“Unknown” is what a problem that fits no category is called; choose another label.", field="label"
        )
    _refuse_a_label_taken(account_id=account.pk, label=label, key=key)
    last = L1Category.objects.filter(account=account).aggregate(last=Max("position"))["last"]
    category = L1Category(
        account=account,
        key=key,
        label=label,
        description=_clean_description(description),
        keywords=_clean_keywords(keywords),
        allowed=True,
        position=0 if last is None else last + 1,
    )
    category.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():  # a savepoint: the same label added twice at once
            category.save(force_insert=True)
    except IntegrityError:
        raise InvalidInput(
            f"There is already a category “{label}”; edit that one, or choose another label.", field="label"
        ) from None
    audit_record(
        account=account, actor=actor, action="l1_category.create", obj=category,
        details={"key": key, "label": label},
    )  # fmt: skip
    return category


def _locked(category: L1Category) -> L1Category:
    """The row, locked, within its account (and the account, for the audit row)."""
    try:
        return (
            L1Category.objects.select_for_update(of=("self",))
            .select_related("account")
            .get(pk=category.pk, account_id=category.account_id)
        )
    except L1Category.DoesNotExist:
        raise NotFound("That category was deleted meanwhile.") from None


@transaction.atomic
def l1_category_update(
    *, category: L1Category, actor: User | None, label: str, description: str, keywords: list[str]
) -> L1Category:
    """Change what a category says. Its key stays: walks and classification refer to it. Nothing
    changed, nothing written (no audit row)."""
    locked = _locked(category)
    wanted = {
        "label": _clean_label(label),
        "description": _clean_description(description),
        "keywords": _clean_keywords(keywords),
    }
    if wanted["label"].casefold() != locked.label.casefold():
        _refuse_a_label_taken(account_id=locked.account_id, label=wanted["label"], but=locked)
    changed = {field: value for field, value in wanted.items() if getattr(locked, field) != value}
    if not changed:
        return locked
    before = {field: getattr(locked, field) for field in changed}
    for field, value in changed.items():
        setattr(locked, field, value)
    locked.save(update_fields=list(changed))
    audit_record(
        account=locked.account, actor=actor, action="l1_category.update", obj=locked,
        details={"key": locked.key, "before": before, "after": changed},
    )  # fmt: skip
    return locked


@transaction.atomic
def l1_category_set_allowed(*, category: L1Category, actor: User | None, allowed: bool) -> L1Category:
    """Allow or disallow a category: an AI-built walk starts only from an allowed one. Setting the
    state it already has writes nothing (a double tap is one change)."""
    locked = _locked(category)
    if locked.allowed == allowed:
        return locked
    locked.allowed = allowed
    locked.save(update_fields=["allowed"])
    audit_record(
        account=locked.account, actor=actor, action="l1_category.allow" if allowed else "l1_category.disallow",
        obj=locked, details={"key": locked.key, "label": locked.label},
    )  # fmt: skip
    return locked


@transaction.atomic
def l1_category_delete(*, category: L1Category, actor: User | None) -> L1Category:
    """Delete a category the account added. The ten defaults are switched off, not deleted: the
    list always keeps them to come back to. Walks keep the key they were started with."""
    try:
        locked = _locked(category)
    except NotFound:
        return category  # deleted meanwhile (a second tab): what was asked is done
    if locked.is_default:
        raise InvalidInput(
            f"“{locked.label}” is one of the default categories: switch it off (not allowed) instead of deleting it."
        )
    audit_record(
        account=locked.account, actor=actor, action="l1_category.delete", obj=locked,
        details={"key": locked.key, "label": locked.label},
    )  # fmt: skip
    locked.delete()
    return locked
