"""The What-we-know panel and the fix card/banner on the page: HTMX partials, access, cost."""

import json

import pytest

from facts_app.models import Fact
from facts_app.tests.factories import FactFactory
from sessions_app.services import fixes
from sessions_app.services.state import session_page_changed
from sessions_app.tests.factories import AISessionFactory, LaneItemFactory
from sessions_app.tests.test_pages import PAGE_QUERIES

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer)


def test_adding_a_note_appends_it_and_updates_the_counts_out_of_band(session, client):
    client.force_login(session.owner)
    FactFactory(session=session, text="An earlier fact")
    response = client.post(f"/sessions/{session.pk}/facts/add/", {"text": "Only Outlook desktop prompts"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "facts_app/partials/_note_added.html"
    fact = Fact.objects.get(text="Only Outlook desktop prompts")
    # The new note alone, appended to the list; not the whole panel again.
    assert response["HX-Retarget"] == "#facts_app-facts" and response["HX-Reswap"] == "beforeend"
    assert body.lstrip().startswith(f'<li class="fact" id="fact-{fact.pk}">')
    assert "An earlier fact" not in body and 'id="facts_app-what-we-know"' not in body
    # Out of band: the fact count, the Tasks handle's count (facts included), an empty form.
    assert '<span class="badge" data-testid="fact-count" id="facts_app-fact-count" hx-swap-oob="true">2</span>' in body
    assert '<span id="lane-count" class="badge" hx-swap-oob="true">2</span>' in body
    assert 'id="facts_app-add-note"' in body and 'hx-swap-oob="true"' in body and 'value=""' in body
    assert "HX-Request" in response["Vary"]
    assert "state-changed" in json.loads(response["HX-Trigger-After-Settle"])
    plain = client.post(f"/sessions/{session.pk}/facts/add/", {"text": "Second"})
    assert plain.status_code == 302 and plain["Location"] == f"/sessions/{session.pk}/"


def test_the_first_note_goes_into_the_list_the_empty_panel_already_has(session, client):
    client.force_login(session.owner)
    panel = client.get(f"/sessions/{session.pk}/facts/", headers=HTMX).content.decode()
    assert '<ul class="facts" id="facts_app-facts"' in panel and "Facts you confirm collect here" in panel


def test_an_empty_note_gets_a_clear_message_and_changes_nothing(session, client):
    client.force_login(session.owner)
    body = client.post(f"/sessions/{session.pk}/facts/add/", {"text": "  "}, headers=HTMX).content.decode()
    assert "Write the fact: one short sentence." in body
    assert not Fact.objects.exists()


def test_editing_a_sourced_fact_is_refused_at_the_card(session, client):
    LaneItemFactory(
        session=session, kind="question", public_id="Q1", text="Does OWA work?", answer="yes", status="answered"
    )
    fact = FactFactory(session=session, source_type="question", source_ref="Q1", text="OWA works.")
    client.force_login(session.owner)
    body = client.post(
        f"/sessions/{session.pk}/facts/{fact.pk}/edit/", {"text": "changed"}, headers=HTMX
    ).content.decode()
    assert "change it by changing the answer to Q1" in body
    fact.refresh_from_db()
    assert fact.text == "OWA works."


def test_delete_leaves_the_panel_but_not_the_database(session, client):
    fact = FactFactory(session=session, text="Doomed fact.")
    client.force_login(session.owner)
    body = client.post(f"/sessions/{session.pk}/facts/{fact.pk}/delete/", headers=HTMX).content.decode()
    assert "Doomed fact." not in body
    assert Fact.objects.filter(pk=fact.pk).exists()


def test_promote_draft_is_shown_not_saved_then_confirmed(session, client):
    item = LaneItemFactory(session=session, kind="check", public_id="C1", text="Check Credential Manager",
                           answer="two stale MicrosoftOffice16 entries", status="answered")  # fmt: skip
    client.force_login(session.owner)
    body = client.post(
        f"/sessions/{session.pk}/facts/promote/{item.pk}/", {"action": "draft"}, headers=HTMX
    ).content.decode()
    assert "Nothing is saved until you do" in body and "Two stale MicrosoftOffice16 entries." in body
    assert not Fact.objects.exists()
    client.post(
        f"/sessions/{session.pk}/facts/promote/{item.pk}/",
        {
            "action": "save",
            "text": "Two stale Office entries in Credential Manager.",
            "summary": "points at cached tokens",
        },
        headers=HTMX,
    )
    fact = Fact.objects.get()
    assert (fact.source_type, fact.source_ref, fact.author) == ("diagnostic_check", "C1", session.owner)


def test_nothing_substantive_saves_nothing_and_says_so(session, client):
    item = LaneItemFactory(
        session=session, kind="question", public_id="Q1", text="Which build?", answer="unknown", status="answered"
    )
    client.force_login(session.owner)
    body = client.post(
        f"/sessions/{session.pk}/facts/promote/{item.pk}/", {"action": "draft"}, headers=HTMX
    ).content.decode()
    assert "No fact could be drawn from this" in body
    assert not Fact.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/facts/", "/facts/add/", "/facts/{fact}/edit/", "/facts/{fact}/delete/", "/fix/{fix}/decide/",
        "/fix/{fix}/outcome/", "/fix/{fix}/applied/", "/fix/{fix}/ai-outcome/", "/fix/{fix}/script/",
        "/scripts/generate/", "/drafts/",
    ],
)  # fmt: skip
def test_other_accounts_colleagues_and_l1_get_404_and_nothing_changes(session, client, tenant_a, tenant_b, url):
    fact = FactFactory(session=session)
    fix = fixes.fix_propose(session=session, step=None, title="Clear tokens")
    path = f"/sessions/{session.pk}" + url.format(fact=fact.pk, fix=fix.pk)
    for outsider in (tenant_b.engineer, tenant_a.admin, tenant_a.l1):
        client.force_login(outsider)
        assert client.get(path).status_code in (404, 405)
        posted = client.post(path, {"text": "x", "decision": "dismissed", "outcome": "applied_success"})
        assert posted.status_code == (405 if url == "/facts/" else 404)  # the panel itself is read-only
    fact.refresh_from_db()
    fix.refresh_from_db()
    assert fact.deleted_at is None and fix.outcome == "proposed" and fix.decision == ""


def test_fix_actions_swap_the_banner_and_the_card(session, client):
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached credentials")
    client.force_login(session.owner)
    response = client.post(f"/sessions/{session.pk}/fix/{fix.pk}/decide/", {"decision": "one_off"}, headers=HTMX)
    body = response.content.decode()
    assert 'id="sessions_app-fix-banner"' in body and 'data-banner-mode="verifying"' in body
    assert 'id="sessions_app-fix-card" class="lane-section fix-card" hx-swap-oob="true"' in body
    assert "state-changed" in json.loads(response["HX-Trigger-After-Settle"])
    body = client.post(
        f"/sessions/{session.pk}/fix/{fix.pk}/outcome/", {"outcome": "applied_pending", "note": ""}, headers=HTMX
    ).content.decode()
    assert "Say what we are waiting on" in body
    fix.refresh_from_db()
    assert fix.outcome == "proposed"


@pytest.mark.parametrize("count", [2, 50])
def test_the_page_with_facts_and_a_fix_costs_a_fixed_number_of_queries(
    session, client, django_assert_max_num_queries, count
):
    FactFactory.create_batch(count, session=session)
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached credentials")
    fixes.fix_mark_applied(fix=fix, actor=session.owner)
    client.force_login(session.owner)
    client.get(f"/sessions/{session.pk}/")
    session_page_changed(session_id=session.pk)  # pin the cost of drawing the page, not of a cached one
    with django_assert_max_num_queries(PAGE_QUERIES):
        body = client.get(f"/sessions/{session.pk}/").content.decode()
    assert body.count('class="fact"') == count and 'data-banner-mode="verifying"' in body
    with django_assert_max_num_queries(5):  # auth (2), the session, the facts, the answered items
        client.get(f"/sessions/{session.pk}/facts/", headers=HTMX)
