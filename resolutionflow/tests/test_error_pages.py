"""What people see when a request fails (issue #10.7): with DEBUG off, 400, 403, 404 and 500 are
pages in the product's layout that say what happened and offer a way back; an HTMX request gets
the small error partial, with the real status."""

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _suspicious(request):
    raise SuspiciousOperation("bad")


def _broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("suspicious/", _suspicious),
    path("broken/", _broken),
    path("", include("resolutionflow.urls")),
]
handler400 = "resolutionflow.error_views.bad_request"
handler403 = "resolutionflow.error_views.permission_denied"
handler404 = "resolutionflow.error_views.page_not_found"
handler500 = "resolutionflow.error_views.server_error"


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_a_missing_page_is_a_branded_404_with_a_way_back(production, tenant_a, client):
    client.force_login(tenant_a.engineer)
    response = client.get("/sessions/999999/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "ResolutionFlow" in body and "not yours to see" in body and "Back to your home page" in body
    partial = client.get("/sessions/999999/", headers=HTMX)
    assert partial.status_code == 404 and partial["HX-Error-Status"] == "404"
    assert "<html" not in partial.content.decode() and 'role="alert"' in partial.content.decode()


def test_a_refused_page_is_a_branded_403(production, tenant_a, client):
    client.force_login(tenant_a.l1)
    response = client.get("/sessions/")
    assert response.status_code == 403
    assert "Back to your home page" in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_bad_request_is_a_branded_400(production, tenant_a, client):
    client.force_login(tenant_a.engineer)
    response = client.get("/suspicious/")
    assert response.status_code == 400
    body = response.content.decode()
    assert "could not be understood" in body and "Back to your home page" in body and "<html" in body


@pytest.mark.urls(__name__)
def test_a_server_error_is_a_branded_500_that_tells_nothing_of_the_bug(production, tenant_a):
    client = Client(raise_request_exception=False)
    client.force_login(tenant_a.engineer)
    response = client.get("/broken/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and "Back to your home page" in body
    assert "a bug" not in body and "Traceback" not in body
    partial = client.get("/broken/", headers=HTMX)
    assert partial.status_code == 500 and "<html" not in partial.content.decode()
