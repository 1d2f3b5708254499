"""The page conventions every app relies on: errors become a clear partial (HTMX) or page,
with a retry where retrying can help; nothing typed is lost; CSRF travels in hx-headers."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

from resolutionflow.accounts.models import Account, Team, User
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, NotFound
from sessions_app.models import AISession

pytestmark = pytest.mark.django_db


def _ai_fails(request):
    raise AIError("overloaded", "529")


def _refused(request):
    raise AIError("refused")


@require_POST
def _conflict(request):
    raise Conflict("This draft was already decided.")


def _missing(request):
    raise NotFound()


def _ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("ai-fails/", _ai_fails),
    path("ai-refused/", _refused),
    path("conflict/", _conflict),
    path("missing/", _missing),
    path("ok/", _ok),
    path("", include("resolutionflow.urls")),
]
HTMX = {"HX-Request": "true"}


@pytest.mark.urls(__name__)
def test_an_ai_failure_in_an_htmx_request_answers_a_retry_partial(client):
    response = client.post("/ai-fails/?x=1", {"answer": "the printer is on", "password": "hunter2"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200  # so htmx swaps it; the real status travels in a header
    assert response["HX-Error-Status"] == "503"
    assert "<html" not in body
    assert "overloaded" in body and "Nothing you entered was lost" in body
    assert 'hx-post="/ai-fails/?x=1"' in body and "Try again" in body
    assert 'name="answer" value="the printer is on"' in body  # the retry repeats what was sent
    assert "hunter2" not in body  # secrets are never echoed back


@pytest.mark.urls(__name__)
def test_a_refusal_offers_no_retry(client):
    body = client.get("/ai-refused/", headers=HTMX).content.decode()
    assert "declined" in body and "Try again" not in body


@pytest.mark.urls(__name__)
def test_without_htmx_the_error_is_a_full_page_with_the_real_status(client):
    response = client.get("/ai-fails/")
    assert response.status_code == 503
    assert "<html" in response.content.decode() and "Try again" in response.content.decode()
    response = client.post("/conflict/")
    assert response.status_code == 409
    assert "This draft was already decided." in response.content.decode()


@pytest.mark.urls(__name__)
def test_not_found_is_a_404(client):
    assert client.get("/missing/").status_code == 404
    assert client.get("/missing/", headers=HTMX).status_code == 404


def test_every_page_carries_the_csrf_token_for_htmx_and_loads_htmx(tenant_a, client):
    client.force_login(tenant_a.engineer)
    body = client.get("/engineer/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "/static/vendor/htmx/htmx.min.js" in body


def test_htmx_is_served_from_the_npm_package(client, db):

    found = finders.find("vendor/htmx/htmx.min.js")
    assert found and "node_modules/htmx.org/dist" in found


def test_messages_are_shown_as_toasts(tenant_a, client):

    session = AISession.objects.create(account=tenant_a.account, owner=tenant_a.engineer, problem_summary="VPN drops")
    client.force_login(tenant_a.engineer)
    body = client.post(f"/sessions/{session.pk}/pause/", follow=True).content.decode()
    assert '<div class="toast toast-success" role="status">Session paused.' in body


def test_seed_demo_is_idempotent_and_prints_the_logins(db, capsys):

    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (Account.objects.count(), Team.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (Account.objects.count(), Team.objects.count(), User.objects.count()) == counts
    assert counts == (2, 3, 8)
    assert "dana@northwind.example" in first and "demo-pass-2026" in first
    roles = set(User.objects.filter(account__slug="northwind-msp").values_list("role", flat=True))
    assert roles == {"owner", "admin", "engineer", "l1_tech"}
    assert User.objects.get(email="dana@northwind.example").l1_coverage
    assert User.objects.get(email="dana@northwind.example").check_password("demo-pass-2026")


def test_no_template_comment_spans_lines():
    """Django's {# #} comment ends with its line: one written across lines is shown on the page as
    text (it happened to the session page). Longer notes use {% comment %}."""

    root = Path(settings.BASE_DIR)
    templates = [
        p for p in root.glob("**/templates/**/*.html") if ".venv" not in p.parts and "node_modules" not in p.parts
    ]
    assert templates
    for template in templates:
        for number, line in enumerate(template.read_text().splitlines(), 1):
            assert line.count("{#") == line.count("#}"), (
                f"{template.relative_to(root)}:{number} opens a comment it does not close"
            )
