"""SPEC §1 'Who may do what', every role against every area."""

import pytest
from django.db import IntegrityError, transaction

pytestmark = pytest.mark.django_db

# area url -> roles allowed (fixture attribute names on the tenant namespace)
AREAS = {
    "/engineer/": {"owner", "admin", "engineer", "coverage_engineer"},
    "/l1/": {"l1", "coverage_engineer"},
    "/manage/": {"owner", "admin"},
    "/admin/": {"owner", "admin"},
    "/tickets/": {"owner", "admin", "engineer", "coverage_engineer", "l1"},
}
ROLES = ["owner", "admin", "engineer", "coverage_engineer", "l1"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", list(AREAS))
def test_each_role_is_allowed_or_refused_per_area(tenant_a, client, role, url):
    client.force_login(getattr(tenant_a, role))
    response = client.get(url)
    if role in AREAS[url]:
        assert response.status_code == 200, f"{role} should reach {url}"
    elif url == "/admin/":
        # Django admin sends non-staff users to its login page instead of showing it.
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    else:
        assert response.status_code == 403, f"{role} must be refused {url}"
        assert "Not allowed" in response.content.decode()


@pytest.mark.parametrize("url", list(AREAS))
def test_anonymous_user_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("owner", "/manage/"),
        ("admin", "/manage/"),
        ("engineer", "/engineer/"),
        ("coverage_engineer", "/engineer/"),
        ("l1", "/l1/"),
    ],
)
def test_home_redirects_each_role_to_its_own_home(tenant_a, client, role, home):
    client.force_login(getattr(tenant_a, role))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == home


def test_role_homes_say_what_will_be_there(tenant_a, client):
    client.force_login(tenant_a.engineer)
    page = client.get("/engineer/").content.decode()
    assert "Escalation queue" in page and "Your open sessions" in page
    client.force_login(tenant_a.l1)
    page = client.get("/l1/").content.decode()
    assert "Resume in progress" in page
    client.force_login(tenant_a.admin)
    page = client.get("/manage/").content.decode()
    assert "Review queue" in page and "Analytics" in page


def test_staff_rights_come_from_the_role(tenant_a):
    assert tenant_a.owner.is_staff and tenant_a.admin.is_staff
    assert not tenant_a.engineer.is_staff and not tenant_a.l1.is_staff
    assert tenant_a.admin.has_perm("accounts.view_user")
    assert not tenant_a.engineer.has_perm("accounts.view_user")


def test_l1_actions_of_a_coverage_engineer_are_audited_as_coverage(tenant_a):
    assert tenant_a.coverage_engineer.l1_acting_as == "l1_coverage"
    assert tenant_a.l1.l1_acting_as == "l1_tech"


def test_l1_coverage_is_only_for_engineers_in_the_database(tenant_a):

    tenant_a.l1.l1_coverage = True
    with pytest.raises(IntegrityError), transaction.atomic():
        tenant_a.l1.save(update_fields=["l1_coverage"])
