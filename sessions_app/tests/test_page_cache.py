"""The session page's body is cached while nothing it shows has changed, and never served stale:
every change the page shows — through the services, as the app makes them — is on the next load,
and one viewer's body is never another's."""

import pytest
from django.utils import timezone

from facts_app import services as facts
from resolutionflow.psa.services import internal_ticket_create
from sessions_app.models import AISession, TicketPush
from sessions_app.services import escalations, fixes, lifecycle, ticket_pushes, turns

from .factories import session_with_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    return session_with_steps(owner=tenant_a.engineer, steps=3)


def page(client, session) -> str:
    response = client.get(f"/sessions/{session.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_unchanged_page_is_served_from_the_cache(session, client, django_assert_max_num_queries):
    client.force_login(session.owner)
    first = page(client, session)
    # The user with their account, and the session's stamp (who may open it, what it is now).
    with django_assert_max_num_queries(2):
        again = page(client, session)
    assert again == first.replace(_token(first), _token(again))


def _token(body: str) -> str:
    return body.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: facts.fact_create(session=s, actor=s.owner, text="MARK fact"), id="a-fact"),
        pytest.param(
            lambda s: turns.lane_item_answer(session=s, item=s.lane_items.first(), actor=s.owner, answer="MARK answer"),
            id="a-lane-answer",
        ),
        pytest.param(lambda s: fixes.fix_propose(session=s, step=None, title="MARK fix"), id="a-fix"),
        pytest.param(lambda s: lifecycle.session_pause(session=s, actor=s.owner), id="a-pause"),
        pytest.param(
            lambda s: lifecycle.session_link_ticket(session=s, actor=s.owner, psa_ticket_ref="4242"), id="a-ticket"
        ),
        pytest.param(
            lambda s: escalations.session_escalate(session=s, actor=s.owner, reason="Stuck", package="x"),
            id="an-escalation",
        ),
    ],
)
def test_a_change_is_on_the_next_load(session, client, change):
    client.force_login(session.owner)
    before = page(client, session)
    session = AISession.objects.get(pk=session.pk)
    change(session)
    after = page(client, session)
    marker = {"MARK fact", "MARK answer", "MARK fix", "Paused", "PSA #4242", "Awaiting pickup"}
    assert any(m in after and m not in before for m in marker)


def test_a_push_that_posts_after_failing_is_on_the_next_load(
    session, client, tenant_a, django_capture_on_commit_callbacks
):
    ticket = internal_ticket_create(account=tenant_a.account, title="Outlook", actor=session.owner)
    AISession.objects.filter(pk=session.pk).update(
        internal_ticket=ticket, status="resolved", resolved_at=timezone.now()
    )
    push = TicketPush.objects.create(
        account=tenant_a.account, session=session, kind="resolution_note", body="The note", status="failed",
        error="The PSA did not answer.", attempts=1, created_by=session.owner,
    )  # fmt: skip
    client.force_login(session.owner)
    assert "The PSA did not answer." in page(client, session)

    with django_capture_on_commit_callbacks(execute=True):  # the background retry, committed
        ticket_pushes.push_attempt(push=push)  # (no change to the session row)

    assert TicketPush.objects.get(pk=push.pk).status == "posted"
    assert "The PSA did not answer." not in page(client, session)


def test_one_viewers_body_is_never_anothers(session, client, tenant_a):
    AISession.objects.filter(pk=session.pk).update(status="requesting_escalation")
    client.force_login(session.owner)
    owners = page(client, session)
    client.force_login(tenant_a.coverage_engineer)
    colleagues = page(client, session)
    assert "Read only" in colleagues and "Read only" not in owners
