"""The engineers' list of L1 escalations (SPEC §7 Escalate): the account's escalated walks, latest
first, each walk's transcript as the tech saw it, and a session started from it — once, however
many times the button is pressed — with the transcript as its intake and on the walk's ticket."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone

from l1_app.models import Walk
from l1_app.services.escalations import walk_start_session
from resolutionflow.accounts.models import AuditLog
from resolutionflow.ai.fake_api import Reply
from resolutionflow.psa.services import internal_ticket_create
from sessions_app.models import AISession
from sessions_app.tests.factories import classification, question_turn

from .factories import WalkFactory, WalkStepFactory, question

pytestmark = pytest.mark.django_db

EITHER_OR = "Does she sign in to Windows with a Microsoft account or a local account?"


def escalated(tenant, *, minutes_ago: int = 0, **fields) -> Walk:
    fields = {
        "account": tenant.account,
        "tech": tenant.l1,
        "status": Walk.Status.ESCALATED,
        "escalation_category": Walk.EscalationCategory.BEYOND_L1,
        "escalation_reason": "The fix needs admin rights on her laptop.",
        "finished_at": timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    }
    return WalkFactory(**fields)


def answered(walk: Walk, node: dict, *, answer: str, label: str, note: str = "", order: int | None = None):
    extra = {"order": order} if order is not None else {}
    return WalkStepFactory(
        walk=walk,
        node_id=node["id"],
        node=node,
        answer=answer,
        answer_label=label,
        note=note,
        answered_at=timezone.now(),
        **extra,
    )


@pytest.fixture
def walk(tenant_a):
    """An AI-built walk of two answered steps (one an either/or question) and a node shown last,
    escalated from an internal ticket."""
    ticket = internal_ticket_create(
        account=tenant_a.account, actor=tenant_a.l1, title="Outlook keeps asking for a password", description="Monday."
    )
    walk = escalated(
        tenant_a,
        problem="Outlook keeps asking Jane for her password.\nShe changed it on Monday.",
        internal_ticket=ticket,
        customer_name="Jane Doe",
        customer_contact="+44 20 7946 0000",
        notes="Jane says the prompt comes back every hour.",
    )
    answered(walk, question("n1", "Is Outlook open and showing the prompt?"), answer="yes", label="Yes", order=1)
    answered(
        walk,
        question("n2", EITHER_OR, yes="Microsoft account", no="Local account"),
        answer="no",
        label="Local account",
        note="Her laptop is not joined to anything.",
        order=2,
    )
    WalkStepFactory(walk=walk, order=3, node_id="n3", node=question("n3", "Does the prompt name her e-mail address?"))
    return walk


def _walk_ids(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="l1-escalation" data-walk="(\d+)"', body)]


# --- who may see it ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["engineer", "admin", "owner", "coverage_engineer"])
def test_engineers_admins_and_owners_see_the_list_and_the_walk(tenant_a, login, walk, role):
    client = login(getattr(tenant_a, role))
    assert client.get("/l1/escalations/").status_code == 200
    assert client.get(f"/l1/escalations/{walk.pk}/").status_code == 200


def test_an_l1_tech_sees_neither_and_starts_nothing(tenant_a, login, walk):
    client = login(tenant_a.l1)
    assert client.get("/l1/escalations/").status_code == 403
    assert client.get(f"/l1/escalations/{walk.pk}/").status_code == 403
    assert client.post(f"/l1/escalations/{walk.pk}/session/").status_code == 403
    assert not AISession.objects.exists()


def test_anonymous_is_sent_to_log_in(client, walk):
    response = client.get("/l1/escalations/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_accounts_walk_is_not_found(tenant_a, tenant_b, login, walk):
    client = login(tenant_b.engineer)
    assert client.get(f"/l1/escalations/{walk.pk}/").status_code == 404
    assert client.post(f"/l1/escalations/{walk.pk}/session/").status_code == 404
    assert client.get("/l1/escalations/999999/").status_code == 404
    assert not AISession.objects.exists() and Walk.objects.get(pk=walk.pk).session is None


@pytest.mark.parametrize("status", [Walk.Status.ACTIVE, Walk.Status.RESOLVED, Walk.Status.ABANDONED])
def test_a_walk_that_is_not_escalated_is_not_found(tenant_a, login, status):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, status=status)
    client = login(tenant_a.engineer)
    assert client.get(f"/l1/escalations/{walk.pk}/").status_code == 404
    assert client.post(f"/l1/escalations/{walk.pk}/session/").status_code == 404
    assert not AISession.objects.exists()


def test_starting_a_session_is_a_post(tenant_a, login, walk):
    assert login(tenant_a.engineer).get(f"/l1/escalations/{walk.pk}/session/").status_code == 405


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_the_accounts_escalated_walks_latest_first(tenant_a, tenant_b, login):
    older = escalated(tenant_a, minutes_ago=90, problem="VPN drops every ten minutes")
    newer = escalated(tenant_a, minutes_ago=5, problem="Printer shows offline")
    middle = escalated(tenant_a, minutes_ago=30, problem="Teams camera is black")
    WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem="Still walking")
    WalkFactory(account=tenant_a.account, tech=tenant_a.l1, status=Walk.Status.RESOLVED, problem="Fixed it")
    escalated(tenant_b, problem="Globex's own escalation")

    body = login(tenant_a.engineer).get("/l1/escalations/").content.decode()

    assert _walk_ids(body) == [newer.pk, middle.pk, older.pk]
    assert "Still walking" not in body and "Fixed it" not in body and "Globex" not in body


def test_a_row_says_what_an_engineer_needs_to_pick(tenant_a, login, walk):
    psa = escalated(
        tenant_a,
        kind=Walk.Kind.AD_HOC,
        problem="Scanner on reception\nmore detail",
        psa_ticket_ref="48213",
        escalation_category=Walk.EscalationCategory.HARDWARE,
        escalation_reason="The glass is cracked.",
    )
    body = login(tenant_a.engineer).get("/l1/escalations/").content.decode()
    row = body[body.index(f'id="l1-escalation-{walk.pk}"') :]
    row = row[: row.index("</article>")]
    assert "Outlook keeps asking Jane for her password." in row and "She changed it on Monday" not in row
    assert "AI-built" in row and walk.internal_ticket.reference in row
    assert tenant_a.l1.get_full_name() in row
    assert "Needs an engineer&#x27;s rights or tools" in row and "The fix needs admin rights" in row
    assert "Session #" not in row
    other = body[body.index(f'id="l1-escalation-{psa.pk}"') :]
    other = other[: other.index("</article>")]
    assert "PSA #48213" in other and "Hardware looks faulty" in other and "AI-built" not in other
    assert "more detail" not in other


def test_a_walk_taken_on_says_which_session(tenant_a, login, walk):
    session = walk_start_session(walk=walk, engineer=tenant_a.engineer)
    body = login(tenant_a.admin).get("/l1/escalations/").content.decode()
    assert f"Session #{session.pk} started" in body
    assert f"taken on by {tenant_a.engineer.get_full_name()}" in body


def test_the_list_is_paginated_by_20(tenant_a, login):
    walks = [escalated(tenant_a, minutes_ago=n) for n in range(25)]
    client = login(tenant_a.engineer)
    first = client.get("/l1/escalations/").content.decode()
    second = client.get("/l1/escalations/?page=2").content.decode()
    assert _walk_ids(first) == [w.pk for w in walks[:20]]
    assert _walk_ids(second) == [w.pk for w in walks[20:]]
    assert "Page 1 of 2" in first and "Older" in first


def test_an_empty_list_says_so(tenant_a, login):
    body = login(tenant_a.engineer).get("/l1/escalations/").content.decode()
    assert "No L1 escalations." in body


def test_the_list_costs_a_fixed_number_of_queries(tenant_a, login, django_assert_max_num_queries):
    for n in range(25):
        walk = escalated(
            tenant_a,
            minutes_ago=n,
            internal_ticket=internal_ticket_create(account=tenant_a.account, actor=tenant_a.l1, title="T"),
        )
        if n % 2:
            walk_start_session(walk=walk, engineer=tenant_a.engineer)
    client = login(tenant_a.admin)
    # auth (2), the count, the page of 20 with tech, ticket and session's engineer, the bell
    with django_assert_max_num_queries(5):
        body = client.get("/l1/escalations/").content.decode()
    assert len(_walk_ids(body)) == 20 and "Session #" in body


# --- one walk ------------------------------------------------------------------------------------


def test_the_walk_reads_as_the_tech_saw_it(tenant_a, login, walk):
    body = login(tenant_a.engineer).get(f"/l1/escalations/{walk.pk}/").content.decode()
    transcript = body[body.index('data-testid="transcript"') : body.index("</ol>")]
    assert "Is Outlook open and showing the prompt?" in transcript
    assert EITHER_OR in transcript
    # The label the tech pressed, as the node served it: not the stored value ("no").
    assert "Local account" in transcript and ">no<" not in transcript
    assert "Her laptop is not joined to anything." in transcript
    assert transcript.index("Is Outlook open") < transcript.index(EITHER_OR)
    assert "Does the prompt name her e-mail address?" not in transcript
    stopped = body[body.index('data-testid="stopped-at"') :]
    assert "Does the prompt name her e-mail address?" in stopped[:400]
    assert "Jane says the prompt comes back every hour." in body
    assert "Jane Doe" in body and "+44 20 7946 0000" in body
    assert walk.internal_ticket.reference in body
    assert "The fix needs admin rights on her laptop." in body
    assert "She changed it on Monday." in body  # the whole problem, under its first line as title
    assert "Start a session from this walk" in body
    assert f'action="/l1/escalations/{walk.pk}/session/"' in body


def test_a_one_line_problem_is_the_title_alone(tenant_a, login):
    walk = escalated(tenant_a, problem="Printer shows offline", customer_name="Acme Dental")
    body = login(tenant_a.engineer).get(f"/l1/escalations/{walk.pk}/").content.decode()
    assert body.count("Printer shows offline") == 2  # the page's title and its h1
    assert "The problem" not in body and "Customer: Acme Dental" in body


def test_the_walk_page_costs_a_fixed_number_of_queries(tenant_a, login, walk, django_assert_max_num_queries):
    for n in range(4, 12):
        answered(walk, question(f"n{n}", f"Step {n}?"), answer="yes", label="Yes", order=n)
    client = login(tenant_a.engineer)
    with django_assert_max_num_queries(4):  # auth (2), the walk with its tech and ticket, its steps
        client.get(f"/l1/escalations/{walk.pk}/")


def test_a_walk_taken_on_links_its_session_for_its_engineer_and_names_it_for_others(tenant_a, login, walk):
    session = walk_start_session(walk=walk, engineer=tenant_a.engineer)
    mine = login(tenant_a.engineer).get(f"/l1/escalations/{walk.pk}/").content.decode()
    assert f'href="/sessions/{session.pk}/"' in mine and "Start a session from this walk" not in mine
    theirs = login(tenant_a.admin).get(f"/l1/escalations/{walk.pk}/").content.decode()
    assert f'href="/sessions/{session.pk}/"' not in theirs and "Start a session from this walk" not in theirs
    assert f"{tenant_a.engineer.get_full_name()} started session #{session.pk} from this walk." in theirs


# --- starting a session --------------------------------------------------------------------------


def test_starting_a_session_carries_the_transcript_onto_the_walks_ticket(tenant_a, login, walk):
    client = login(tenant_a.engineer)
    response = client.post(f"/l1/escalations/{walk.pk}/session/")

    session = AISession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert session.owner == tenant_a.engineer and session.account == tenant_a.account
    assert session.intake_type == AISession.IntakeType.INTERNAL_TICKET
    assert session.internal_ticket == walk.internal_ticket
    intake = session.intake_content
    assert intake.startswith("Outlook keeps asking Jane for her password.\nShe changed it on Monday.\n\n")
    assert intake.count("She changed it on Monday.") == 1, "the problem once, then the walk"
    assert f"L1 walk #{walk.pk} (AI-built) by {tenant_a.l1.get_full_name()}" in intake
    assert f"2. {EITHER_OR} — Local account\n   Note: Her laptop is not joined to anything." in intake
    assert "Customer: Jane Doe · +44 20 7946 0000" in intake
    assert "Jane says the prompt comes back every hour." in intake
    assert "Escalated: Needs an engineer's rights or tools" in intake
    assert "**" not in intake, "the session page shows an intake as typed: no markdown"
    assert session.step_count == 1, "the AI's first step is there when the page opens"
    walk.refresh_from_db()
    assert walk.session == session and walk.status == Walk.Status.ESCALATED
    audit = AuditLog.objects.get(action="l1_walk.session_start")
    assert (audit.actor, audit.object_id, audit.details) == (
        tenant_a.engineer,
        str(walk.pk),
        {"session_id": session.pk},
    )
    assert client.get(response["Location"]).status_code == 200


def test_two_clicks_make_one_session(tenant_a, login, walk):
    client = login(tenant_a.engineer)
    first = client.post(f"/l1/escalations/{walk.pk}/session/")
    second = client.post(f"/l1/escalations/{walk.pk}/session/")
    session = AISession.objects.get()
    assert first["Location"] == second["Location"] == f"/sessions/{session.pk}/"
    assert session.steps.count() == 1, "the second click takes no second turn"
    assert AuditLog.objects.filter(action="l1_walk.session_start").count() == 1


def test_a_colleague_who_clicks_later_is_told_who_has_it(tenant_a, login, walk):
    session = walk_start_session(walk=walk, engineer=tenant_a.engineer)
    client = login(tenant_a.admin)
    response = client.post(f"/l1/escalations/{walk.pk}/session/", follow=True)
    assert response.redirect_chain[-1][0] == f"/l1/escalations/{walk.pk}/"
    assert f"{tenant_a.engineer.get_full_name()} already started session #{session.pk}" in response.content.decode()
    assert AISession.objects.count() == 1


def test_a_psa_ticket_walk_starts_on_the_psa_ticket(tenant_a):
    walk = escalated(tenant_a, psa_ticket_ref="48213", problem="Scanner on reception jams")
    session = walk_start_session(walk=walk, engineer=tenant_a.engineer)
    assert (session.intake_type, session.psa_ticket_ref) == ("psa_ticket", "48213")
    assert session.internal_ticket is None
    # No PSA is connected in tests: the session still starts and says the context is unavailable.
    assert session.ticket_context_status == AISession.TicketContextStatus.UNAVAILABLE


def test_a_walk_on_no_ticket_starts_a_text_session(tenant_a):
    walk = escalated(tenant_a, kind=Walk.Kind.AD_HOC, problem="Mouse stutters", notes="Tried another USB port.")
    session = walk_start_session(walk=walk, engineer=tenant_a.engineer)
    assert session.intake_type == "text" and "Tried another USB port." in session.intake_content


def test_a_failed_first_turn_leaves_the_session_and_says_so(fake_anthropic, tenant_a, login, walk):
    fake_anthropic.enqueue(Reply.json(classification()), Reply.text("oops"), Reply.text("oops again"))
    client = login(tenant_a.engineer)
    response = client.post(f"/l1/escalations/{walk.pk}/session/", follow=True)
    session = AISession.objects.get()
    assert response.redirect_chain[-1][0] == f"/sessions/{session.pk}/"
    assert 'class="toast toast-warning"' in response.content.decode()
    assert session.steps.count() == 0 and Walk.objects.get(pk=walk.pk).session == session
    # Pressed again (from the walk's page): the same session, and this time the AI's first step.
    fake_anthropic.enqueue(Reply.json(question_turn("Which Outlook version is it?")))
    client.post(f"/l1/escalations/{walk.pk}/session/")
    assert AISession.objects.count() == 1 and session.steps.get().content["text"] == "Which Outlook version is it?"


@pytest.mark.django_db(transaction=True)
def test_two_engineers_at_once_on_postgresql_make_one_session(tenant_a):
    walk = escalated(tenant_a, problem="Outlook keeps asking for a password")
    barrier, results = threading.Barrier(2), {}

    def start(user):
        try:
            barrier.wait()
            results[user.pk] = walk_start_session(walk=Walk.objects.get(pk=walk.pk), engineer=user).pk
        finally:
            close_old_connections()

    threads = [threading.Thread(target=start, args=(u,)) for u in (tenant_a.engineer, tenant_a.admin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(results) == 2 and len(set(results.values())) == 1
    assert AISession.objects.count() == 1
    assert Walk.objects.get(pk=walk.pk).session_id == next(iter(results.values()))


# --- where engineers look ------------------------------------------------------------------------


def test_the_escalation_queue_shows_the_walks_waiting_for_a_session(tenant_a, tenant_b, login, walk):
    taken = escalated(tenant_a, problem="Taken on already")
    walk_start_session(walk=taken, engineer=tenant_a.admin)
    escalated(tenant_b, problem="Globex's own escalation")
    body = login(tenant_a.engineer).get("/sessions/escalations/").content.decode()
    section = body[body.index('id="l1_app-escalations-waiting"') :]
    section = section[: section.index("</section>")]
    assert "From L1 walks" in section and 'href="/l1/escalations/"' in section
    assert f'href="/l1/escalations/{walk.pk}/"' in section
    assert "Taken on already" not in section and "Globex" not in section


def test_the_queue_shows_the_latest_five(tenant_a, login, django_assert_max_num_queries):
    walks = [escalated(tenant_a, minutes_ago=n) for n in range(8)]
    client = login(tenant_a.engineer)
    # auth (2), the queue, the L1 walks waiting, the bell
    with django_assert_max_num_queries(5):
        body = client.get("/sessions/escalations/").content.decode()
    shown = [int(n) for n in re.findall(r'data-testid="l1-waiting" data-walk="(\d+)"', body)]
    assert shown == [w.pk for w in walks[:5]]


def test_the_queue_says_when_no_walk_waits(tenant_a, login):
    body = login(tenant_a.engineer).get("/sessions/escalations/").content.decode()
    assert "From L1 walks" in body and "No L1 escalations." in body


def test_the_queues_live_region_stays_without_the_l1_section(tenant_a, login, walk):
    body = login(tenant_a.engineer).get("/sessions/escalations/", headers={"HX-Request": "true"}).content.decode()
    assert "l1_app-escalations-waiting" not in body


def test_the_engineer_home_shows_them_too(tenant_a, login, walk):
    body = login(tenant_a.engineer).get("/engineer/").content.decode()
    section = body[body.index('id="l1_app-escalations-waiting"') :]
    assert "L1 escalations" in section[:400] and f'href="/l1/escalations/{walk.pk}/"' in section


@pytest.mark.parametrize("path", ["/l1/escalations/", "/l1/escalations/{pk}/"])
def test_the_escalations_tab_is_current_on_the_l1_escalation_pages(tenant_a, login, walk, path):
    body = login(tenant_a.coverage_engineer).get(path.format(pk=walk.pk)).content.decode()
    nav = body[body.index('aria-label="Main"') : body.index("</nav>", body.index('aria-label="Main"'))]
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', nav)
    assert current == ["/sessions/escalations/"]
