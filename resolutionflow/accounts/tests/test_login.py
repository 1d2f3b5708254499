import pytest
from django.utils import timezone

from resolutionflow.accounts import services
from resolutionflow.accounts.models import AuditLog, User

pytestmark = pytest.mark.django_db


def _login(client, email, password):
    return client.post("/login/", {"username": email, "password": password})


def test_login_by_email_case_insensitive(tenant_a, client, password):
    response = _login(client, tenant_a.engineer.email.upper(), password)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_gives_a_clear_message(tenant_a, client):
    response = _login(client, tenant_a.engineer.email, "wrong")
    assert response.status_code == 200
    assert "do not match an active user" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_deactivated_user_cannot_log_in(tenant_a, client, password):
    services.user_deactivate(user=tenant_a.engineer, actor=tenant_a.admin)
    response = _login(client, tenant_a.engineer.email, password)
    assert "_auth_user_id" not in client.session
    assert "do not match an active user" in response.content.decode()


def test_soft_deleted_user_cannot_log_in_and_is_kept(tenant_a, client, password):

    services.user_soft_delete(user=tenant_a.engineer, actor=tenant_a.admin)
    _login(client, tenant_a.engineer.email, password)
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(pk=tenant_a.engineer.pk, deleted_at__isnull=False).exists()
    row = AuditLog.objects.get(action="user.soft_delete")
    assert (row.actor, row.object_id) == (tenant_a.admin, str(tenant_a.engineer.pk))


def test_an_open_login_stops_working_once_the_user_is_soft_deleted(tenant_a, client):
    client.force_login(tenant_a.engineer)
    assert client.get("/engineer/").status_code == 200
    type(tenant_a.engineer).objects.filter(pk=tenant_a.engineer.pk).update(deleted_at=timezone.now())
    response = client.get("/engineer/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_logout_is_a_post(tenant_a, client):
    client.force_login(tenant_a.engineer)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/engineer/").status_code == 302


def test_password_change_page(tenant_a, client, password):
    client.force_login(tenant_a.engineer)
    assert client.get("/password/").status_code == 200
    response = client.post(
        "/password/",
        {"old_password": password, "new_password1": "a-much-longer-pass-77", "new_password2": "a-much-longer-pass-77"},
    )
    assert response.status_code == 302
    tenant_a.engineer.refresh_from_db()
    assert tenant_a.engineer.check_password("a-much-longer-pass-77")
