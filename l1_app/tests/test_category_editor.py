"""The L1 category allowlist editor (SPEC §7 "Safety"; issue #13 §2): owners and admins of the
account list, allow or disallow, add, edit and delete its categories; nobody else, and never
another account's. Every change is audited; a refusal says why and changes nothing."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from l1_app.categories import DEFAULT_CATEGORIES
from l1_app.models import L1Category
from l1_app.safety import FLOOR_REASONS
from l1_app.selectors import l1_categories_allowed
from l1_app.services.categories import l1_categories_ensure, l1_category_create
from resolutionflow.accounts.models import AuditLog
from resolutionflow.testing.browser import login_as, shoot_both

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = "/l1/categories/"


def _category(tenant, key="printer") -> L1Category:
    l1_categories_ensure(account=tenant.account)
    return L1Category.objects.get(account=tenant.account, key=key)


def _url(name: str, category: L1Category) -> str:
    return reverse(f"l1_app:{name}", args=[category.pk])


def _snapshot(account) -> list[tuple]:
    return list(
        L1Category.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "key", "label", "description", "keywords", "allowed", "position")
    )


def _audits(action: str = "") -> list[AuditLog]:
    qs = AuditLog.objects.filter(action__startswith="l1_category.").order_by("pk")
    return list(qs.filter(action=action) if action else qs)


def _added(tenant, label="Scanner paper jam") -> L1Category:
    l1_categories_ensure(account=tenant.account)
    return l1_category_create(
        account=tenant.account, actor=tenant.admin, label=label, description="Open the scanner lid, clear the paper.",
        keywords=["scanner", "paper jam"],
    )  # fmt: skip


# --- who may open it ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_get_the_editor_with_the_ten_defaults_and_the_hard_floor(tenant_a, login, role):
    response = login(getattr(tenant_a, role)).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert [c.label for c in response.context["categories"]] == [c.label for c in DEFAULT_CATEGORIES]
    assert L1Category.objects.filter(account=tenant_a.account).count() == 10, "the defaults are made on first open"
    assert html.count('role="switch"') == 10
    assert "No setting lifts these:" in html
    for reason in FLOOR_REASONS:
        assert reason.replace("'", "&#x27;") in html
    assert 'id="l1_app-category-' in html and 'id="l1_app-category-add"' in html
    assert 'aria-current="page">Admin</a>' in html, "the editor belongs to the Admin section"


@pytest.mark.parametrize("role", ["engineer", "coverage_engineer", "l1"])
def test_engineers_and_l1_techs_are_refused(tenant_a, login, role):
    client = login(getattr(tenant_a, role))
    category = _category(tenant_a)
    before = _snapshot(tenant_a.account)
    assert client.get(LIST).status_code == 403
    assert client.post(_url("category_allowed", category), {"allowed": "false"}).status_code == 403
    assert client.post(_url("category_edit", category), {"label": "X", "description": "Y"}).status_code == 403
    assert client.post(reverse("l1_app:category_add"), {"label": "X", "description": "Y"}).status_code == 403
    assert _snapshot(tenant_a.account) == before and not _audits()


def test_anonymous_is_sent_to_log_in(client, tenant_a):
    category = _category(tenant_a)
    for response in (client.get(LIST), client.post(_url("category_allowed", category), {"allowed": "false"})):
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_admin_home_links_to_the_editor(tenant_a, login):
    html = login(tenant_a.admin).get(reverse("admin_home")).content.decode()
    assert f'href="{LIST}"' in html and "L1 categories" in html


# --- tenancy -----------------------------------------------------------------------------------


def test_another_accounts_admin_gets_404_for_every_action_and_changes_nothing(tenant_a, tenant_b, login):
    theirs = _added(tenant_a)
    printer = _category(tenant_a)
    before = _snapshot(tenant_a.account)
    audits = len(_audits())
    client = login(tenant_b.admin)
    for category in (theirs, printer):
        assert client.post(_url("category_allowed", category), {"allowed": "false"}).status_code == 404
        assert client.post(_url("category_allowed", category), {"allowed": "false"}, **HTMX).status_code == 404
        data = {"label": "Hijacked", "description": "No."}
        assert client.post(_url("category_edit", category), data).status_code == 404
        assert client.get(_url("category_edit", category), **HTMX).status_code == 404
        assert client.get(_url("category", category), **HTMX).status_code == 404
        assert client.post(_url("category_delete", category)).status_code == 404
    assert _snapshot(tenant_a.account) == before and len(_audits()) == audits
    # Their own list is theirs: ten defaults of their own, none of tenant_a's.
    response = client.get(f"{LIST}?editing={theirs.pk}")
    assert response.status_code == 200 and response.context["editing"] is None
    assert "Scanner paper jam" not in response.content.decode()


# --- the Allowed switch ------------------------------------------------------------------------


def test_the_switch_over_htmx_answers_the_row_and_the_allowlist_follows(tenant_a, login):
    printer = _category(tenant_a)
    client = login(tenant_a.admin)
    response = client.post(_url("category_allowed", printer), {"allowed": "false"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert [t.name for t in response.templates][0] == "l1_app/partials/_category_row.html"
    assert "<html" not in html and html.strip().startswith("<li") and f'id="l1_app-category-{printer.pk}"' in html
    assert 'aria-checked="false"' in html and 'name="allowed" value="true"' in html and "Not allowed." in html
    assert "HX-Request" in response["Vary"]
    assert "printer" not in set(l1_categories_allowed(account_id=tenant_a.account.pk).values_list("key", flat=True))
    [audit] = _audits("l1_category.disallow")
    assert (audit.actor, audit.object_id, audit.details["key"]) == (tenant_a.admin, str(printer.pk), "printer")

    # Sending the same state again (a double tap) changes nothing and writes nothing.
    client.post(_url("category_allowed", printer), {"allowed": "false"}, **HTMX)
    assert len(_audits()) == 1

    response = client.post(_url("category_allowed", printer), {"allowed": "true"}, **HTMX)
    assert 'aria-checked="true"' in response.content.decode()
    assert "printer" in set(l1_categories_allowed(account_id=tenant_a.account.pk).values_list("key", flat=True))
    assert [a.action for a in _audits()] == ["l1_category.disallow", "l1_category.allow"]


def test_the_switch_without_javascript_posts_and_comes_back_to_the_row(tenant_a, login):
    vpn = _category(tenant_a, "vpn_connect")
    client = login(tenant_a.owner)
    response = client.post(_url("category_allowed", vpn), {"allowed": "false"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}#l1_app-category-{vpn.pk}"
    vpn.refresh_from_db()
    assert vpn.allowed is False
    page = client.get(LIST).content.decode()
    row = re.search(rf'<li id="l1_app-category-{vpn.pk}".*?</li>', page, re.S).group(0)
    assert 'aria-checked="false"' in row and "l1-category-off" in row
    assert _audits("l1_category.disallow")[0].actor == tenant_a.owner


def test_a_switch_sent_wrong_says_so_and_changes_nothing(tenant_a, login):
    printer = _category(tenant_a)
    response = login(tenant_a.admin).post(_url("category_allowed", printer), {"allowed": "maybe"}, **HTMX)
    assert "Say whether the category is allowed" in response.content.decode()
    printer.refresh_from_db()
    assert printer.allowed is True and not _audits()


# --- add ---------------------------------------------------------------------------------------


def test_adding_makes_the_key_from_the_label_and_appends_the_row(tenant_a, login):
    l1_categories_ensure(account=tenant_a.account)
    client = login(tenant_a.admin)
    data = {
        "label": "  Scanner  paper jam ",
        "description": "Open the scanner lid, clear the paper path, restart the scanner.",
        "keywords": "scanner, paper jam,, Scanner , feeder",
    }
    response = client.post(reverse("l1_app:category_add"), data, **HTMX)
    assert response.status_code == 200
    category = L1Category.objects.get(account=tenant_a.account, key="scanner_paper_jam")
    assert category.label == "Scanner paper jam"
    assert category.keywords == ["scanner", "paper jam", "feeder"], "trimmed, empties and repeats dropped"
    assert category.allowed and category.position == 10 and not category.is_default
    html = response.content.decode()
    assert response["HX-Retarget"] == "#l1_app-category-list" and response["HX-Reswap"] == "beforeend"
    assert html.strip().startswith(f'<li id="l1_app-category-{category.pk}"')
    assert 'id="l1_app-category-add" class="card l1-add" aria-labelledby="l1-add-h" hx-swap-oob="true"' in html
    assert f'id="l1_app-category-{category.pk}"' in html and "Added “Scanner paper jam”" in html
    assert 'value="Scanner' not in html, "the form comes back empty for the next one"
    [audit] = _audits("l1_category.create")
    assert audit.details == {"key": "scanner_paper_jam", "label": "Scanner paper jam"}
    assert "scanner_paper_jam" in set(
        l1_categories_allowed(account_id=tenant_a.account.pk).values_list("key", flat=True)
    )

    # The same key in another account is that account's own business.
    l1_categories_ensure(account=tenant_a.account)
    assert L1Category.objects.filter(key="scanner_paper_jam").count() == 1


def test_adding_without_javascript_redirects_to_the_new_row(tenant_a, login):
    l1_categories_ensure(account=tenant_a.account)
    response = login(tenant_a.admin).post(
        reverse("l1_app:category_add"), {"label": "Mobile phone e-mail", "description": "Re-add the account."}
    )
    category = L1Category.objects.get(account=tenant_a.account, key="mobile_phone_e_mail")
    assert response.status_code == 302 and response["Location"] == f"{LIST}#l1_app-category-{category.pk}"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("Printer", "There is already a category “Printer”"),
        ("printer", "There is already a category “Printer”"),
        ("Wi-Fi basics", "There is already a category “Wi-Fi basics”"),
        ("Password  Reset!", "There is already a category “Password reset”"),
        ("Unknown", "“Unknown” is what a problem that fits no category is called"),
        ("!!!", "The label needs letters or digits"),
        ("", "Give the category a label"),
    ],
)
def test_a_label_taken_or_unusable_is_refused_with_a_message_and_nothing_is_created(tenant_a, login, label, message):
    l1_categories_ensure(account=tenant_a.account)
    before = _snapshot(tenant_a.account)
    client = login(tenant_a.admin)
    data = {"label": label, "description": "Something L1 may do.", "keywords": "a, b"}
    response = client.post(reverse("l1_app:category_add"), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and 'class="field-error"' in html
    assert "autofocus" in html, "the cursor goes to the field to fix"
    assert "hx-swap-oob" not in html and "HX-Retarget" not in response
    # Without JavaScript: the page again, 400, with the message and what was typed.
    response = client.post(reverse("l1_app:category_add"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert 'value="a, b"' in response.content.decode()
    assert _snapshot(tenant_a.account) == before and not _audits()


def test_a_category_needs_a_description(tenant_a, login):
    l1_categories_ensure(account=tenant_a.account)
    response = login(tenant_a.admin).post(reverse("l1_app:category_add"), {"label": "Scanner"}, **HTMX)
    assert "Say what an L1 tech may do for this category" in response.content.decode()
    assert not L1Category.objects.filter(key="scanner").exists()


def test_too_many_or_too_long_keywords_are_refused(tenant_a, login):
    l1_categories_ensure(account=tenant_a.account)
    client = login(tenant_a.admin)
    many = ", ".join(f"word{n}" for n in range(51))
    response = client.post(reverse("l1_app:category_add"), {"label": "A", "description": "B", "keywords": many}, **HTMX)
    assert "Give at most 50 keywords (you gave 51)" in response.content.decode()
    long = "x" * 61
    response = client.post(reverse("l1_app:category_add"), {"label": "A", "description": "B", "keywords": long}, **HTMX)
    assert "too long for a keyword" in response.content.decode()
    assert L1Category.objects.filter(account=tenant_a.account).count() == 10


# --- edit --------------------------------------------------------------------------------------


def test_edit_opens_in_the_row_and_saves_label_description_and_keywords(tenant_a, login):
    printer = _category(tenant_a)
    client = login(tenant_a.admin)
    response = client.get(_url("category_edit", printer), **HTMX)
    html = response.content.decode()
    assert f'id="l1_app-category-{printer.pk}"' in html and "<html" not in html
    assert f'id="l1cat-{printer.pk}-label"' in html and 'value="printer, print, printing' in html
    assert f'<label for="l1cat-{printer.pk}-keywords">' in html

    data = {"label": "Printers and copiers", "description": "Check paper and toner.", "keywords": "printer, copier"}
    response = client.post(_url("category_edit", printer), data, **HTMX)
    html = response.content.decode()
    assert "Printers and copiers" in html and "Saved “Printers and copiers”" in html and "autofocus" in html
    printer.refresh_from_db()
    assert (printer.key, printer.label, printer.description, printer.keywords) == (
        "printer", "Printers and copiers", "Check paper and toner.", ["printer", "copier"],
    ), "the key stays"  # fmt: skip
    [audit] = _audits("l1_category.update")
    assert audit.details["before"]["label"] == "Printer" and audit.details["after"]["keywords"] == ["printer", "copier"]

    # Saved again unchanged: nothing written.
    client.post(_url("category_edit", printer), data, **HTMX)
    assert len(_audits()) == 1


def test_edit_without_javascript(tenant_a, login):
    printer = _category(tenant_a)
    client = login(tenant_a.admin)
    response = client.get(_url("category_edit", printer))
    assert (
        response.status_code == 302
        and response["Location"] == f"{LIST}?editing={printer.pk}#l1_app-category-{printer.pk}"
    )
    page = client.get(response["Location"])
    assert page.context["editing"] == printer and f'id="l1cat-{printer.pk}-label"' in page.content.decode()
    data = {"label": "Printer", "description": "Only the paper.", "keywords": "printer"}
    response = client.post(_url("category_edit", printer), data)
    assert response.status_code == 302 and response["Location"] == f"{LIST}#l1_app-category-{printer.pk}"
    printer.refresh_from_db()
    assert printer.description == "Only the paper."


def test_an_edit_that_takes_another_label_or_empties_one_is_refused_and_kept_in_the_form(tenant_a, login):
    printer = _category(tenant_a)
    before = _snapshot(tenant_a.account)
    client = login(tenant_a.admin)
    data = {"label": "VPN connect", "description": "Check paper.", "keywords": "printer"}
    response = client.post(_url("category_edit", printer), data, **HTMX)
    html = response.content.decode()
    assert "There is already a category “VPN connect”" in html and 'value="VPN connect"' in html
    response = client.post(_url("category_edit", printer), {**data, "label": " "})
    assert response.status_code == 400 and "Give the category a label" in response.content.decode()
    assert _snapshot(tenant_a.account) == before and not _audits()
    # Its own label in another case is no clash.
    client.post(_url("category_edit", printer), {**data, "label": "PRINTER"}, **HTMX)
    printer.refresh_from_db()
    assert printer.label == "PRINTER"


def test_cancel_gives_the_row_back(tenant_a, login):
    printer = _category(tenant_a)
    response = login(tenant_a.admin).get(_url("category", printer), **HTMX)
    html = response.content.decode()
    assert f'id="l1_app-category-{printer.pk}"' in html and 'role="switch"' in html and "l1-allow" in html


# --- delete ------------------------------------------------------------------------------------


def test_an_added_category_is_deleted_and_audited(tenant_a, login):
    scanner = _added(tenant_a)
    client = login(tenant_a.admin)
    response = client.post(_url("category_delete", scanner), **HTMX)
    html = response.content.decode()
    assert f'id="l1_app-category-{scanner.pk}"' in html and "Deleted “Scanner paper jam”" in html
    assert not L1Category.objects.filter(pk=scanner.pk).exists()
    [audit] = _audits("l1_category.delete")
    assert audit.object_id == str(scanner.pk) and audit.details["key"] == "scanner_paper_jam"

    other = _added(tenant_a, "Docking station")
    response = client.post(_url("category_delete", other))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not L1Category.objects.filter(pk=other.pk).exists()


def test_a_default_is_switched_off_not_deleted(tenant_a, login):
    printer = _category(tenant_a)
    client = login(tenant_a.admin)
    row = client.get(_url("category", printer), **HTMX).content.decode()
    assert "Delete" not in row and 'class="badge badge-open">Added' not in row
    assert "The ten defaults can be switched off and edited, not deleted" in client.get(LIST).content.decode()
    response = client.post(_url("category_delete", printer), **HTMX)
    assert "one of the default categories" in response.content.decode()
    assert L1Category.objects.filter(pk=printer.pk).exists() and not _audits()


# --- cost --------------------------------------------------------------------------------------

# The user (session and account come from the cache and select_related), "has it categories yet?" in
# its savepoint (three statements), the categories: however many there are.
PAGE_QUERIES = 5


def test_the_page_costs_a_fixed_number_of_queries(tenant_a, login, django_assert_max_num_queries):
    client = login(tenant_a.admin)
    client.get(LIST)  # the first open makes the defaults
    for n in range(5):
        _added(tenant_a, f"Custom {n}")
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get(LIST).status_code == 200


# --- in the browser ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_switches_a_category_off_and_adds_one(page, live_server, tenant_a, password):
    login_as(page, live_server, tenant_a.admin, password)
    page.get_by_role("link", name="L1 categories").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("L1 categories")
    expect(page.get_by_text("No setting lifts these:")).to_be_visible()

    printer = page.get_by_role("switch", name="Allowed: Printer")
    expect(printer).to_have_attribute("aria-checked", "true")
    printer.click()
    expect(printer).to_have_attribute("aria-checked", "false")
    expect(printer).to_be_focused()  # the row was swapped; the keyboard is where it was
    row = page.locator("li", has=page.get_by_role("heading", name="Printer", exact=True))
    expect(row).to_contain_text("Not allowed.")
    assert not L1Category.objects.get(account=tenant_a.account, key="printer").allowed

    add = page.locator("#l1_app-category-add")
    add.get_by_label("Label").fill("Printer")
    add.get_by_label("What an L1 tech may do").fill("Anything.")
    add.get_by_role("button", name="Add category").click()
    expect(add.get_by_text("There is already a category “Printer”")).to_be_visible()
    # The refused form comes back with the cursor in the field to fix (htmx focuses it as the swap
    # settles): wait for that before typing, as a person would.
    expect(add.get_by_label("Label")).to_be_focused()

    add.get_by_label("Label").fill("Scanner paper jam")
    add.get_by_label("What an L1 tech may do").fill("Open the scanner lid, clear the paper path, restart it.")
    add.get_by_label("Keywords").fill("scanner, paper jam, feeder")
    add.get_by_role("button", name="Add category").click()
    expect(add.get_by_text("Added “Scanner paper jam”")).to_be_visible()
    new_row = page.locator("#l1_app-category-list > li").last
    expect(new_row).to_contain_text("Scanner paper jam")
    expect(new_row).to_contain_text("Keywords: scanner, paper jam, feeder")
    expect(add.get_by_label("Label")).to_have_value("")
    assert L1Category.objects.filter(account=tenant_a.account, key="scanner_paper_jam").exists()

    # Edit the new one in place (a label another category has is refused there), then save.
    new_row.get_by_role("link", name="Edit Scanner paper jam").click()
    expect(new_row.get_by_label("Label")).to_be_focused()
    new_row.get_by_label("Label").fill("VPN connect")
    new_row.get_by_role("button", name="Save").click()
    expect(new_row.get_by_text("There is already a category “VPN connect”")).to_be_visible()
    expect(new_row.get_by_label("Label")).to_be_focused()
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled window draws the top bar mid-page
    shoot_both(page, "l1-categories-editing")
    new_row.get_by_label("Label").fill("Scanner paper jam")
    new_row.get_by_label("Keywords").fill("scanner, paper jam, feeder, ADF")
    new_row.get_by_role("button", name="Save").click()
    expect(new_row).to_contain_text("Saved “Scanner paper jam”")
    expect(new_row).to_contain_text("ADF")
    expect(new_row.get_by_role("link", name="Edit Scanner paper jam")).to_be_focused()

    new_row.get_by_text("Delete…").click()
    page.evaluate("window.scrollTo(0, 0)")
    shoot_both(page, "l1-categories")
    scanner = L1Category.objects.get(account=tenant_a.account, key="scanner_paper_jam")
    new_row.get_by_role("button", name="Delete “Scanner paper jam”").click()
    gone = page.locator(f"#l1_app-category-{scanner.pk}")
    expect(gone).to_have_text("Deleted “Scanner paper jam”.")
    expect(gone).to_be_focused()  # the keyboard keeps its place in the list
    assert not L1Category.objects.filter(pk=scanner.pk).exists()

    # The switch works from the keyboard too.
    printer.focus()
    page.keyboard.press("Space")
    expect(printer).to_have_attribute("aria-checked", "true")
    expect(printer).to_be_focused()
    assert L1Category.objects.get(account=tenant_a.account, key="printer").allowed
