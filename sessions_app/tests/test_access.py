"""Who may open a session (SPEC §1, §2): only its owner, for now. Another account, another
engineer or admin of the same account and an L1 tech get 404 on every session URL, GET and
POST, exactly as for a missing session, and nothing changes."""

import re

import pytest
from django.core.files.base import ContentFile

from resolutionflow.accounts.models import AuditLog
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession, LaneItem, SessionStep

from .factories import session_with_steps

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def target(tenant_a):
    """An active session of tenant_a's engineer with an answered step, a current one, a lane and
    a screenshot: every action on it would succeed for its owner."""
    session = session_with_steps(owner=tenant_a.engineer, steps=2)
    session.screenshot.save("s.png", ContentFile(PNG), save=False)
    session.screenshot_content_type = "image/png"
    session.save()
    return session


def urls(session):
    step = session.steps.get(order=2)
    item = session.lane_items.first()
    base = f"/sessions/{session.pk}/"
    gets = [base, base + "screenshot/", base + "documentation.md"]
    posts = [
        (base + f"steps/{step.pk}/answer/", {"value": "yes"}),
        (base + f"steps/{step.pk}/answer/", {"kind": "free_text", "text": "x"}),
        (base + "turn/", {}),
        (base + f"lane/{item.pk}/answer/", {"answer": "x"}),
        (base + "pause/", {}),
        (base + "resume/", {}),
        (base + "reopen/", {}),
        (base + "resolve/", {"code": "fixed", "summary": "Fixed it"}),
        (base + "rate/", {"rating": "5"}),
        (base + "link-ticket/", {"psa_ticket_ref": "123"}),
    ]
    return gets, posts


def snapshot(session):
    return (
        AISession.objects.filter(pk=session.pk).values().get(),
        list(SessionStep.objects.filter(session=session).order_by("order").values()),
        list(LaneItem.objects.filter(session=session).order_by("id").values()),
        AuditLog.objects.count(),
        AIUsage.objects.count(),
    )


@pytest.mark.parametrize(
    "who",
    [
        "other_account_engineer",
        "other_account_owner",
        "colleague_engineer",
        "own_account_admin",
        "own_account_owner",
        "l1",
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_nobody_but_the_owner_reaches_any_session_url(tenant_a, tenant_b, target, client, who, htmx):
    intruder = {
        "other_account_engineer": tenant_b.engineer,
        "other_account_owner": tenant_b.owner,
        "colleague_engineer": tenant_a.coverage_engineer,
        "own_account_admin": tenant_a.admin,
        "own_account_owner": tenant_a.owner,
        "l1": tenant_a.l1,
    }[who]
    before = snapshot(target)
    client.force_login(intruder)
    headers = {"HX-Request": "true"} if htmx else {}
    gets, posts = urls(target)

    for url in gets:
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert PNG not in response.content
    for url, data in posts:
        response = client.post(url, data, headers=headers)
        assert response.status_code == 404, url

    assert snapshot(target) == before


def test_a_foreign_session_looks_exactly_like_a_missing_one(tenant_a, tenant_b, target, client):
    client.force_login(tenant_b.engineer)

    foreign = client.get(f"/sessions/{target.pk}/")
    missing = client.get(f"/sessions/{target.pk + 1000}/")

    assert foreign.status_code == missing.status_code == 404
    token = re.compile(rb'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", foreign.content) == token.sub(b"", missing.content)


def test_the_owner_reaches_every_read_url(tenant_a, target, client):
    client.force_login(tenant_a.engineer)
    gets, _ = urls(target)

    assert [client.get(url).status_code for url in gets] == [200, 200, 409]  # no documentation before resolve


def test_anonymous_visitors_are_sent_to_log_in(target, client):
    gets, posts = urls(target)

    for url in gets:
        assert client.get(url)["Location"].startswith("/login/"), url
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    assert client.get("/sessions/")["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/sessions/", "/sessions/new/"])
def test_an_l1_tech_cannot_use_the_engineer_pages(tenant_a, target, client, path):
    client.force_login(tenant_a.l1)

    response = client.get(path)

    assert response.status_code == 403
    assert target.problem_summary not in response.content.decode()


def test_an_l1_tech_cannot_start_a_session(tenant_a, client):
    client.force_login(tenant_a.l1)

    response = client.post("/sessions/new/", {"intake_type": "text", "intake_text": "Printer offline"})

    assert response.status_code == 403
    assert not AISession.objects.exists() and not AIUsage.objects.exists()


@pytest.mark.parametrize("role", ["owner", "admin", "engineer"])
def test_owners_admins_and_engineers_run_their_own_sessions(tenant_a, client, role):
    user = getattr(tenant_a, role)
    client.force_login(user)

    response = client.post("/sessions/new/", {"intake_type": "text", "intake_text": "VPN drops every few minutes"})

    session = AISession.objects.get()
    assert session.owner == user and response["Location"] == f"/sessions/{session.pk}/"
    assert client.get(response["Location"]).status_code == 200


def test_a_deactivated_owner_loses_access(tenant_a, target, client):
    client.force_login(tenant_a.engineer)
    tenant_a.engineer.is_active = False
    tenant_a.engineer.save()

    response = client.get(f"/sessions/{target.pk}/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
