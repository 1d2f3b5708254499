"""The session pages: fixed query cost whatever the session's length, HTMX partials, and the
"My sessions" list with search, filters and pagination."""

import pytest

from resolutionflow.ai.fake_api import Reply
from sessions_app.models import AISession
from sessions_app.services.state import session_page_changed

from .factories import AISessionFactory, question_turn, session_with_steps

pytestmark = pytest.mark.django_db

# Pinned costs. The page reads the session, its steps, its lane, the live facts and promotable
# items, the active fix, script templates and generations, the escalations, the ticket pushes and
# the engineers one may escalate to, in one query each (plus the user: the login session comes from
# the cache), so the bound is the same with 3 steps and with 30; an N+1 would cost ~27 more at 30.
PAGE_QUERIES = 14
# The answer POST saves the answer, records the turn (step, lane items in bulk, running totals)
# and returns only the changed regions: fixed, whatever the length. Counted here inside the test's
# transaction (each atomic block adds a SAVEPOINT/RELEASE pair); test_costs pins the production
# count (<= 20, BEGIN/COMMIT included).
TURN_QUERIES = 19


# --- page cost ---------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [3, 30])
def test_the_session_page_costs_a_fixed_number_of_queries(tenant_a, client, django_assert_max_num_queries, steps):
    session = session_with_steps(owner=tenant_a.engineer, steps=steps)
    client.force_login(tenant_a.engineer)
    client.get(f"/sessions/{session.pk}/")  # the login session is loaded once
    session_page_changed(session_id=session.pk)  # pin the cost of drawing the page, not of a cached one

    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/sessions/{session.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="turn turn-question turn-done"') == steps - 1
    assert f"Question number {steps}?" in page and 'id="lane-C3"' in page


@pytest.mark.parametrize("steps", [3, 29])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_answer_and_the_next_turn_cost_a_fixed_number_of_queries(
    fake_anthropic, tenant_a, client, django_assert_max_num_queries, steps, htmx
):
    session = session_with_steps(owner=tenant_a.engineer, steps=steps)
    step = session.steps.get(order=steps)
    client.force_login(tenant_a.engineer)
    client.get(f"/sessions/{session.pk}/")
    fake_anthropic.enqueue(
        Reply.json(
            question_turn(
                "Next?",
                questions=["Open question 0?", "A brand new question?"],
                checks=["A brand new check", "Another new check"],
            )
        )
    )
    headers = {"HX-Request": "true"} if htmx else {}

    with django_assert_max_num_queries(TURN_QUERIES):
        client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, headers=headers)

    session.refresh_from_db()
    assert session.step_count == steps + 1
    assert len(fake_anthropic.requests[-1]["messages"]) == 2 * steps + 1


def test_the_list_page_costs_a_fixed_number_of_queries(tenant_a, client, django_assert_max_num_queries):
    client.force_login(tenant_a.engineer)
    counts = []
    for total in (2, 20):
        AISessionFactory.create_batch(total - AISession.objects.count(), owner=tenant_a.engineer)
        client.get("/sessions/")
        with django_assert_max_num_queries(PAGE_QUERIES) as captured:
            client.get("/sessions/")
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- HTMX partials -------------------------------------------------------------------------


def test_an_htmx_answer_returns_the_answered_and_the_next_step_with_changed_regions_out_of_band(
    begin, fake_anthropic, tenant_a, client
):
    session = begin(tenant_a.engineer, question_turn("First?"))
    fake_anthropic.enqueue(Reply.json(question_turn("Second question?", questions=["Is MFA enforced?"])))

    response = client.post(
        f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/",
        {"value": "yes"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "<body" not in body
    # In place of the step card: the answered step, then the new one; not the whole conversation.
    assert body.lstrip().startswith('<article class="turn turn-question turn-done" id="step-1">')
    assert 'id="step-2"' in body and "Second question?" in body
    assert 'id="sessions_app-conversation"' not in body and "Intake ·" not in body
    # Out of band: the lane's items, the header, the turn status; not the resolve/escalate boxes.
    assert '<div id="sessions_app-lane-items" class="lane-items" hx-swap-oob="true">' in body
    assert '<header id="sessions_app-header" class="session-head" hx-swap-oob="true">' in body
    assert '<div id="sessions_app-turn-status" hx-swap-oob="true">' in body
    assert 'id="resolve-form"' not in body
    assert 'id="lane-Q1"' in body and "Is MFA enforced?" in body
    assert "HX-Request" in response["Vary"]
    assert "state-changed" in response["HX-Trigger-After-Settle"]


def test_the_same_answer_without_htmx_redirects_to_the_page(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn("First?"))
    fake_anthropic.enqueue(Reply.json(question_turn("Second question?")))

    response = client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})

    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert "Second question?" in client.get(response["Location"]).content.decode()


def test_the_session_page_is_a_full_page_with_every_region(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn("First?", questions=["Is MFA enforced?"]))

    page = client.get(f"/sessions/{session.pk}/").content.decode()

    assert "<html" in page
    for region in ('id="sessions_app-header"', 'id="sessions_app-conversation"', 'id="sessions_app-lane"'):
        assert region in page
    assert 'hx-swap-oob="true"' not in page
    assert 'id="lane-count">1<' in page


def test_a_pause_over_htmx_redirects_the_client(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())

    response = client.post(f"/sessions/{session.pk}/pause/", headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == f"/sessions/{session.pk}/"
    session.refresh_from_db()
    assert session.status == "paused"


# --- My sessions ----------------------------------------------------------------------------


def titles(response) -> list[str]:
    return [s.problem_summary for s in response.context["page"].object_list]


def test_my_sessions_lists_only_my_own(tenant_a, tenant_b, client):
    AISessionFactory(owner=tenant_a.engineer, problem_summary="Mine")
    AISessionFactory(owner=tenant_a.admin, problem_summary="A colleague's")
    AISessionFactory(owner=tenant_b.engineer, problem_summary="Another account's")
    client.force_login(tenant_a.engineer)

    response = client.get("/sessions/")

    assert titles(response) == ["Mine"]
    page = response.content.decode()
    assert "A colleague&#x27;s" not in page and "Another account" not in page


def test_my_sessions_search_by_text(tenant_a, client):
    AISessionFactory(owner=tenant_a.engineer, problem_summary="VPN drops every hour", intake_content="FortiClient")
    AISessionFactory(owner=tenant_a.engineer, problem_summary="Printer offline", intake_content="Reception HP printer")
    AISessionFactory(
        owner=tenant_a.engineer, problem_summary="Locked out", intake_content="Bob", psa_ticket_ref="48213"
    )
    client.force_login(tenant_a.engineer)

    assert titles(client.get("/sessions/", {"q": "vpn"})) == ["VPN drops every hour"]
    assert titles(client.get("/sessions/", {"q": "reception printer"})) == ["Printer offline"]
    assert titles(client.get("/sessions/", {"q": "48213"})) == ["Locked out"]
    response = client.get("/sessions/", {"q": "nothing like this"})
    assert titles(response) == [] and "No sessions match these filters." in response.content.decode()


def test_my_sessions_filter_by_status_and_domain(tenant_a, client):
    AISessionFactory(owner=tenant_a.engineer, problem_summary="a", status="active", problem_domain="email")
    AISessionFactory(owner=tenant_a.engineer, problem_summary="b", status="paused", problem_domain="email")
    AISessionFactory(owner=tenant_a.engineer, problem_summary="c", status="resolved", problem_domain="networking")
    AISessionFactory(owner=tenant_a.engineer, problem_summary="d", status="resolved", problem_domain="email")
    client.force_login(tenant_a.engineer)

    assert sorted(titles(client.get("/sessions/", {"status": "resolved"}))) == ["c", "d"]
    assert sorted(titles(client.get("/sessions/", {"domain": "email"}))) == ["a", "b", "d"]
    assert titles(client.get("/sessions/", {"status": "resolved", "domain": "email"})) == ["d"]
    assert titles(client.get("/sessions/", {"status": "paused"})) == ["b"]


def test_my_sessions_is_paginated_newest_activity_first_and_keeps_the_filters(tenant_a, client):
    for n in range(25):
        AISessionFactory(owner=tenant_a.engineer, problem_summary=f"Session {n:02d}", status="resolved")
    AISessionFactory(owner=tenant_a.engineer, problem_summary="Active one", status="active")
    client.force_login(tenant_a.engineer)

    first = client.get("/sessions/", {"status": "resolved"})
    second = client.get("/sessions/", {"status": "resolved", "page": 2})

    assert titles(first) == [f"Session {n:02d}" for n in range(24, 4, -1)]
    assert titles(second) == [f"Session {n:02d}" for n in range(4, -1, -1)]
    assert 'href="?status=resolved&page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_the_new_session_page_offers_every_intake_kind(tenant_a, client):
    client.force_login(tenant_a.engineer)

    page = client.get("/sessions/new/").content.decode()

    for kind in ("text", "log", "internal_ticket", "psa_ticket"):
        assert f'value="{kind}"' in page
    assert 'type="file" name="screenshot"' in page and 'enctype="multipart/form-data"' in page
