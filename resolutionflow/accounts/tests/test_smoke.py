import pytest

pytestmark = pytest.mark.django_db


def test_engineer_sees_engineer_home(tenant_a, login):
    response = login(tenant_a.engineer).get("/engineer/")
    assert response.status_code == 200
