import json

import pytest

from resolutionflow.accounts.models import Notification
from resolutionflow.accounts.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_bell_partial_shows_unread_count(tenant_a, client):
    NotificationFactory.create_batch(3, recipient=tenant_a.engineer, account=tenant_a.account)
    NotificationFactory(recipient=tenant_a.admin, account=tenant_a.account)
    client.force_login(tenant_a.engineer)
    response = client.get("/notifications/bell/", headers=HTMX)
    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["partials/_notification_bell.html"]
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="notification-bell"' in body
    assert 'data-testid="unread-count">3<' in body
    assert "HX-Request" in response["Vary"]


def test_bell_shows_no_count_when_everything_is_read(tenant_a, client):
    client.force_login(tenant_a.engineer)
    assert "unread-count" not in client.get("/notifications/bell/", headers=HTMX).content.decode()


def test_mark_read_updates_item_and_tells_the_bell(tenant_a, client):
    n1, n2 = NotificationFactory.create_batch(2, recipient=tenant_a.engineer, account=tenant_a.account)
    client.force_login(tenant_a.engineer)
    response = client.post(f"/notifications/{n1.pk}/read/", headers=HTMX)
    assert response.status_code == 200
    assert "notifications-changed" in json.loads(response["HX-Trigger-After-Settle"])
    assert f'id="notification-{n1.pk}"' in response.content.decode()
    assert "Mark read" not in response.content.decode()
    n1.refresh_from_db()
    assert n1.read_at is not None
    assert 'data-testid="unread-count">1<' in client.get("/notifications/bell/", headers=HTMX).content.decode()


def test_mark_read_without_htmx_redirects(tenant_a, client):
    n = NotificationFactory(recipient=tenant_a.engineer, account=tenant_a.account, url="/tickets/")
    client.force_login(tenant_a.engineer)
    response = client.post(f"/notifications/{n.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/tickets/"


def test_mark_all_read(tenant_a, client):
    NotificationFactory.create_batch(3, recipient=tenant_a.engineer, account=tenant_a.account)
    client.force_login(tenant_a.engineer)
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.unread().filter(recipient=tenant_a.engineer).exists()


def test_someone_elses_notification_is_not_found(tenant_a, tenant_b, client):
    colleague = NotificationFactory(recipient=tenant_a.admin, account=tenant_a.account)
    foreign = NotificationFactory(recipient=tenant_b.engineer, account=tenant_b.account)
    client.force_login(tenant_a.engineer)
    for n in (colleague, foreign):
        assert client.post(f"/notifications/{n.pk}/read/").status_code == 404
        n.refresh_from_db()
        assert n.read_at is None


def test_list_shows_own_notifications_only(tenant_a, tenant_b, client, django_assert_max_num_queries):
    NotificationFactory.create_batch(5, recipient=tenant_a.engineer, account=tenant_a.account, title="Mine")
    NotificationFactory(recipient=tenant_b.engineer, account=tenant_b.account, title="Theirs")
    client.force_login(tenant_a.engineer)
    with django_assert_max_num_queries(6):
        page = client.get("/notifications/").content.decode()
    assert page.count("Mine") == 5 and "Theirs" not in page


def test_mark_all_read_with_htmx_returns_the_list_and_tells_the_bell(tenant_a, client):
    NotificationFactory.create_batch(2, recipient=tenant_a.engineer, account=tenant_a.account)
    client.force_login(tenant_a.engineer)
    response = client.post("/notifications/read-all/", headers=HTMX)
    assert response.status_code == 200
    assert "notifications-changed" in json.loads(response["HX-Trigger-After-Settle"])
    assert 'id="accounts-notifications"' in response.content.decode()
    assert "Mark read" not in response.content.decode()
    assert not Notification.objects.unread().filter(recipient=tenant_a.engineer).exists()
