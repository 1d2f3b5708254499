"""Starting a session from the new-session page (SPEC §2 Start): every intake kind, the
classification fallback, PSA not connected, screenshots, flow matching and script templates."""

import base64
import json
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from flywheel_app.tests.factories import FlowFactory
from resolutionflow.accounts.tests.factories import TeamFactory, UserFactory
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIUsage
from resolutionflow.psa.services import internal_ticket_create
from sessions_app.models import AISession

from .factories import ScriptTemplateFactory, action_turn, classification, fenced, message_text, question_turn

pytestmark = pytest.mark.django_db

NEW = "/sessions/new/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
RETRY_NOW = {"retry_after_ms": 1}


def start(client, user, **data):
    client.force_login(user)
    payload = {"intake_type": "text", "intake_text": "", "psa_ticket_ref": "", **data}
    return client.post(NEW, payload)


# --- each intake kind --------------------------------------------------------------------


def test_start_from_free_text_classifies_then_asks_the_first_step(fake_anthropic, tenant_a, client):
    fake_anthropic.enqueue(
        Reply.json(classification("Jane's Outlook prompts for her password", "email", "high", ["password prompts"])),
        Reply.json(question_turn("Did the prompts start after a password change?", confidence=0.3)),
    )

    response = start(client, tenant_a.engineer, intake_text="  Outlook keeps asking Jane for her password  ")

    session = AISession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert (session.owner, session.account, session.team) == (tenant_a.engineer, tenant_a.account, tenant_a.team)
    assert (session.intake_type, session.intake_content) == ("text", "Outlook keeps asking Jane for her password")
    assert (session.problem_summary, session.problem_domain, session.urgency, session.key_symptoms) == (
        "Jane's Outlook prompts for her password",
        "email",
        "high",
        ["password prompts"],
    )
    step = session.steps.get()
    assert (step.order, step.step_type, step.content["text"]) == (
        1,
        "question",
        "Did the prompts start after a password change?",
    )
    assert session.step_count == 1 and session.status == "active"
    classify, turn = fake_anthropic.requests
    assert classify["model"] == settings.AI_MODEL_FAST and turn["model"] == settings.AI_MODEL_STRONG
    assert fenced(message_text(classify, 0), "intake") == "Outlook keeps asking Jane for her password"
    assert fenced(message_text(turn, 0), "intake") == "Outlook keeps asking Jane for her password"
    page = client.get(response["Location"]).content.decode()
    assert "Did the prompts start after a password change?" in page


def test_start_from_a_pasted_log_keeps_it_as_a_log(fake_anthropic, tenant_a, client):
    log = "2024-05-01 10:00:01 IKE phase 1 failed\n2024-05-01 10:05:02 tunnel down: DPD timeout"
    fake_anthropic.enqueue(
        Reply.json(classification("VPN tunnel drops on DPD timeout", "networking")), Reply.json(action_turn())
    )

    start(client, tenant_a.engineer, intake_type="log", intake_text=log)

    session = AISession.objects.get()
    assert (session.intake_type, session.intake_content, session.problem_domain) == ("log", log, "networking")
    first = message_text(fake_anthropic.requests[1], 0)
    assert '<data source="intake" type="log">' in first and fenced(first, "intake") == log
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Pasted log" in page and "IKE phase 1 failed" in page


def test_start_from_a_screenshot_sends_it_to_the_ai_as_an_image(fake_anthropic, tenant_a, client):
    fake_anthropic.enqueue(
        Reply.json(classification("Error dialog on sign-in", "endpoint")), Reply.json(question_turn())
    )
    client.force_login(tenant_a.engineer)

    response = client.post(
        NEW,
        {
            "intake_type": "text",
            "intake_text": "This error shows at sign-in",
            "screenshot": SimpleUploadedFile("error.png", PNG, content_type="image/png"),
        },
    )

    session = AISession.objects.get()
    assert response.status_code == 302
    assert session.screenshot and session.screenshot_content_type == "image/png"
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
    }
    for request in fake_anthropic.requests:  # the classifier and the turn both see the image
        content = request["messages"][0]["content"]
        assert content[0] == image
        assert "This error shows at sign-in" in content[1]["text"]
    served = client.get(f"/sessions/{session.pk}/screenshot/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert served["X-Content-Type-Options"] == "nosniff"
    for public in (f"/{session.screenshot.name}", f"/media/{session.screenshot.name}"):
        assert client.get(public).status_code == 404, "only the access-checked view serves it"


def test_start_from_a_screenshot_alone_is_summarised_sensibly_when_classification_fails(
    fake_anthropic, tenant_a, client
):
    fake_anthropic.enqueue(Reply.text("not json"), Reply.text("still not json"), Reply.json(question_turn()))
    client.force_login(tenant_a.engineer)

    client.post(NEW, {"intake_type": "text", "screenshot": SimpleUploadedFile("s.png", PNG)})

    session = AISession.objects.get()
    assert session.problem_summary == "Screenshot" and session.problem_domain == "other"
    assert session.steps.count() == 1


def test_start_from_an_internal_ticket_uses_its_text_and_context(fake_anthropic, tenant_a, client):
    ticket = internal_ticket_create(
        account=tenant_a.account,
        title="Printer in reception offline",
        description="Jobs stuck since this morning",
        actor=tenant_a.engineer,
    )
    fake_anthropic.enqueue(
        Reply.json(classification("Reception printer offline", "printing")), Reply.json(question_turn())
    )

    start(client, tenant_a.engineer, intake_type="internal_ticket", internal_ticket=ticket.pk)

    session = AISession.objects.get()
    assert session.intake_type == "internal_ticket" and session.internal_ticket == ticket
    assert session.intake_content == "Printer in reception offline\n\nJobs stuck since this morning"
    assert session.ticket_context_status == "fetched" and session.ticket_context["ticket"] == "INT-1"
    first = message_text(fake_anthropic.requests[1], 0)
    assert json.loads(fenced(first, "ticket"))["title"] == "Printer in reception offline"
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "INT-1" in page


def test_an_internal_ticket_of_another_account_is_refused(tenant_a, tenant_b, client):
    foreign = internal_ticket_create(account=tenant_b.account, title="Theirs", actor=tenant_b.engineer)

    response = start(client, tenant_a.engineer, intake_type="internal_ticket", internal_ticket=foreign.pk)

    assert response.status_code == 400
    assert not AISession.objects.exists()


def test_start_from_a_psa_ticket_without_a_psa_still_starts_and_says_the_context_is_unavailable(
    fake_anthropic, tenant_a, client
):
    fake_anthropic.enqueue(Reply.json(classification("PSA ticket 12345", "other")), Reply.json(question_turn()))

    response = start(client, tenant_a.engineer, intake_type="psa_ticket", psa_ticket_ref="#12345")

    session = AISession.objects.get()
    assert session.intake_type == "psa_ticket" and session.psa_ticket_ref == "12345"
    assert session.ticket_context_status == "unavailable" and session.ticket_context == {}
    assert session.steps.count() == 1, "the session still starts"
    assert "Ticket context: unavailable (no PSA is connected to this account)." in message_text(
        fake_anthropic.requests[1], 0
    )
    page = client.get(response["Location"]).content.decode()
    assert "Ticket context unavailable" in page and "no PSA is connected" in page
    assert "PSA #12345" in page


def test_an_empty_intake_is_refused_with_a_message_and_nothing_is_created(fake_anthropic, tenant_a, client):
    response = start(client, tenant_a.engineer, intake_type="text", intake_text="   ")

    assert response.status_code == 400
    assert "Describe the problem, paste a log or attach a screenshot." in response.content.decode()
    assert not AISession.objects.exists() and fake_anthropic.received == 0


def test_a_psa_intake_without_a_number_is_refused(tenant_a, client):
    response = start(client, tenant_a.engineer, intake_type="psa_ticket", psa_ticket_ref="")

    assert response.status_code == 400 and "Give the PSA ticket number." in response.content.decode()
    assert not AISession.objects.exists()


# --- classification failure --------------------------------------------------------------

LONG_INTAKE = (
    "The accounting team's shared mailbox stopped receiving external mail on Tuesday afternoon; internal "
    "mail still arrives and the NDR mentions a transport rule."
)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param([Reply.text("I think it is email."), Reply.text("{not json")], id="malformed-twice"),
        pytest.param([Reply.error(529, **RETRY_NOW)] * 3, id="overloaded-exhausted"),
        pytest.param(
            [Reply.json({"summary": "x", "domain": "plumbing", "urgency": "medium", "key_symptoms": []})] * 2,
            id="schema-mismatch-twice",
        ),
    ],
)
def test_classification_failure_still_starts_with_the_start_of_the_intake_and_domain_other(
    fake_anthropic, tenant_a, client, failure
):
    fake_anthropic.enqueue(*failure, Reply.json(question_turn("What changed on Tuesday?")))

    response = start(client, tenant_a.engineer, intake_text=LONG_INTAKE)

    session = AISession.objects.get()
    assert response.status_code == 302
    assert len(LONG_INTAKE) > 120
    assert session.problem_summary == LONG_INTAKE[:119] + "…"
    assert (session.problem_domain, session.urgency) == ("other", "medium")
    assert session.steps.get().content["text"] == "What changed on Tuesday?"
    triage = json.loads(fenced(message_text(fake_anthropic.requests[-1], 0), "triage"))
    assert triage["domain"] == "other"


def test_a_failed_first_turn_keeps_the_session_and_offers_the_first_step_again(fake_anthropic, tenant_a, client):
    fake_anthropic.enqueue(Reply.json(classification()), Reply.text("oops"), Reply.text("oops again"))

    response = start(client, tenant_a.engineer, intake_text="Outlook prompts for a password")

    session = AISession.objects.get()
    assert response.status_code == 302 and session.step_count == 0
    page = client.get(response["Location"]).content.decode()
    assert "The AI gave an answer we could not read." in page
    assert f'action="/sessions/{session.pk}/turn/"' in page and "Get the first step" in page

    fake_anthropic.enqueue(Reply.json(question_turn("First question?")))
    client.post(f"/sessions/{session.pk}/turn/")
    assert session.steps.get().content["text"] == "First question?"


# --- screenshots refused -----------------------------------------------------------------

GIF = b"GIF89a" + b"\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 32


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        pytest.param(
            SimpleUploadedFile("shot.png", b"MZ\x90\x00 this is not an image", content_type="image/png"),
            "The screenshot must be a PNG, JPEG or WebP image.",
            id="png-name-not-an-image",
        ),
        pytest.param(
            SimpleUploadedFile("anim.gif", GIF, content_type="image/gif"),
            "The screenshot must be a PNG, JPEG or WebP image.",
            id="gif",
        ),
        pytest.param(
            SimpleUploadedFile("huge.png", PNG + b"\x00" * (5 * 1024 * 1024), content_type="image/png"),
            "The screenshot is 5.1 MB; screenshots may be at most 5 MB.",
            id="over-5-MB",
        ),
    ],
)
def test_a_bad_screenshot_is_refused_with_a_clear_message_and_nothing_is_created(
    fake_anthropic, tenant_a, client, settings, upload, message
):
    client.force_login(tenant_a.engineer)

    response = client.post(NEW, {"intake_type": "text", "intake_text": "See the screenshot", "screenshot": upload})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "See the screenshot" in response.content.decode(), "what was typed is kept"
    assert not AISession.objects.exists()
    assert fake_anthropic.received == 0
    assert not (settings.MEDIA_ROOT / "screenshots").exists()


def test_a_screenshot_of_exactly_5_MB_is_accepted(tenant_a, client):
    client.force_login(tenant_a.engineer)
    exact = PNG + b"\x00" * (5 * 1024 * 1024 - len(PNG))

    response = client.post(NEW, {"intake_type": "text", "screenshot": SimpleUploadedFile("ok.png", exact)})

    assert response.status_code == 302
    assert AISession.objects.get().screenshot.size == 5 * 1024 * 1024


@pytest.mark.parametrize("who", ["other_account", "colleague", "l1"])
def test_nobody_but_the_owner_can_fetch_the_screenshot(tenant_a, tenant_b, client, who):
    client.force_login(tenant_a.engineer)
    client.post(NEW, {"intake_type": "text", "screenshot": SimpleUploadedFile("s.png", PNG)})
    session = AISession.objects.get()
    assert client.get(f"/sessions/{session.pk}/screenshot/").status_code == 200

    intruder = {"other_account": tenant_b.engineer, "colleague": tenant_a.admin, "l1": tenant_a.l1}[who]
    client.force_login(intruder)

    response = client.get(f"/sessions/{session.pk}/screenshot/")
    assert response.status_code == 404
    assert PNG not in response.content


# --- demo mode ---------------------------------------------------------------------------


def test_demo_mode_starts_a_plausible_session_without_any_network(tenant_a, client):
    response = start(client, tenant_a.engineer, intake_text="Outlook keeps asking for a password since Monday")

    session = AISession.objects.get()
    assert (session.problem_summary, session.problem_domain) == ("Outlook keeps prompting for the password", "email")
    step = session.steps.get()
    assert step.step_type == "question" and "password change" in step.content["text"]
    assert session.lane_items.count() == 3  # the leading hypothesis's items and the next one's
    assert set(AIUsage.objects.values_list("provider", flat=True)) == {"demo"}
    page = client.get(response["Location"]).content.decode()
    assert "Demo AI" in page and step.content["text"] in page


# --- flow matching -----------------------------------------------------------------------


@pytest.fixture
def printer_flow(tenant_a):
    return FlowFactory(
        account=tenant_a.account,
        title="Printer shows offline",
        domain="printing",
        keywords=["printer offline", "print queue stuck", "spooler"],
        when_to_use="A network printer shows as offline.",
    )


PRINTER_INTAKE = "The reception printer shows offline and the print queue is stuck"


def test_a_match_above_0_8_starts_guided(fake_anthropic, tenant_a, client, printer_flow):
    fake_anthropic.enqueue(
        Reply.json(classification("Printer shows offline", "printing")),
        Reply.json(question_turn("Can you ping the printer?", confidence=0.2)),
    )

    start(client, tenant_a.engineer, intake_text=PRINTER_INTAKE)

    session = AISession.objects.get()
    assert session.matched_flow == printer_flow and session.match_score > 0.8
    assert session.confidence_tier == "guided" and session.confidence_score > 0.8
    assert session.steps.get().confidence > 0.8
    guide = fenced(message_text(fake_anthropic.requests[1], 0), "flow")
    assert "Title: Printer shows offline" in guide
    # The tree itself, so the AI can ask its questions in order and follow the answered branch.
    tree = json.loads(re.search(r"^Tree: (.*)$", guide, re.MULTILINE).group(1))
    assert tree == printer_flow.tree
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Printer shows offline" in page and "Guided" in page


def test_a_match_between_0_5_and_0_8_guides_the_ai_but_does_not_force_guided(
    fake_anthropic, tenant_a, client, printer_flow
):
    # The same words, but the classifier puts it in another domain: the phrase score alone (0.75).
    fake_anthropic.enqueue(
        Reply.json(classification("Printer shows offline", "hardware")),
        Reply.json(question_turn("Can you ping the printer?", confidence=0.2)),
    )

    start(client, tenant_a.engineer, intake_text=PRINTER_INTAKE)

    session = AISession.objects.get()
    assert session.matched_flow == printer_flow and 0.5 < session.match_score <= 0.8
    assert (session.confidence_tier, session.confidence_score) == ("discovery", 0.2)
    first = message_text(fake_anthropic.requests[1], 0)
    assert "A flow authored by this team matches this problem; use it as a guide" in first
    assert "Title: Printer shows offline" in fenced(first, "flow")


def test_a_weak_match_is_not_given_to_the_ai(fake_anthropic, tenant_a, client, printer_flow):
    fake_anthropic.enqueue(Reply.json(classification("Printer out of paper", "hardware")), Reply.json(question_turn()))

    start(client, tenant_a.engineer, intake_text="Printer in room 4 is out of paper")

    session = AISession.objects.get()
    assert session.matched_flow is None and session.match_score is None
    assert '<data source="flow">' not in message_text(fake_anthropic.requests[1], 0)


def test_flows_of_another_account_or_unpublished_never_guide(fake_anthropic, tenant_a, tenant_b, client):
    for account, published in ((tenant_b.account, True), (tenant_a.account, False)):
        FlowFactory(
            account=account,
            title="Printer shows offline",
            domain="printing",
            keywords=["printer offline", "print queue stuck"],
            published=published,
        )
    fake_anthropic.enqueue(Reply.json(classification("Printer shows offline", "printing")), Reply.json(question_turn()))

    start(client, tenant_a.engineer, intake_text=PRINTER_INTAKE)

    assert AISession.objects.get().matched_flow is None


# --- script templates offered at start ---------------------------------------------------


def offered_slugs(request: dict) -> list[str]:
    return [t["slug"] for t in json.loads(fenced(message_text(request, 0), "script_templates"))]


def test_the_teams_and_account_wide_templates_are_offered_most_used_first(fake_anthropic, tenant_a, tenant_b, client):
    other_team = TeamFactory(account=tenant_a.account, name="Projects")
    make = ScriptTemplateFactory
    make(owner=tenant_a.admin, team=tenant_a.team, slug="team-flush-dns", usage_count=5)
    make(owner=tenant_a.admin, team=None, slug="account-wide-gpupdate", usage_count=50)
    make(owner=tenant_a.admin, team=other_team, slug="other-team", usage_count=100)
    make(owner=tenant_b.admin, team=None, slug="other-account", usage_count=100)
    make(owner=tenant_a.admin, team=None, slug="inactive", is_active=False, usage_count=100)
    make(owner=tenant_a.admin, team=None, slug="deleted", deleted_at="2024-01-01T00:00Z", usage_count=100)
    make(owner=tenant_a.admin, visibility="personal", slug="someone-elses-personal", usage_count=100)
    fake_anthropic.enqueue(Reply.json(classification()), Reply.json(question_turn()))

    start(client, tenant_a.engineer, intake_text="DNS does not resolve on one laptop")

    assert offered_slugs(fake_anthropic.requests[1]) == ["account-wide-gpupdate", "team-flush-dns"]
    offered = json.loads(fenced(message_text(fake_anthropic.requests[1], 0), "script_templates"))
    assert offered[1]["parameters"] == [{"key": "service", "label": "Service", "type": "text"}]
    assert "Get-Service" not in message_text(fake_anthropic.requests[1], 0), "bodies are not sent"


def test_at_most_20_templates_are_offered(fake_anthropic, tenant_a, client):
    for n in range(25):
        ScriptTemplateFactory(owner=tenant_a.admin, slug=f"t-{n:02d}", usage_count=n)
    fake_anthropic.enqueue(Reply.json(classification()), Reply.json(question_turn()))

    start(client, tenant_a.engineer, intake_text="Anything")

    assert offered_slugs(fake_anthropic.requests[1]) == [f"t-{n:02d}" for n in range(24, 4, -1)]


def test_without_templates_the_ai_is_told_not_to_propose_scripts(fake_anthropic, tenant_a, client):
    fake_anthropic.enqueue(Reply.json(classification()), Reply.json(question_turn()))

    start(client, tenant_a.engineer, intake_text="Anything")

    first = message_text(fake_anthropic.requests[1], 0)
    assert '<data source="script_templates">' not in first
    assert "No script templates are available" in first


def test_a_user_without_a_team_gets_only_account_wide_templates(fake_anthropic, tenant_a, client):
    loner = UserFactory(account=tenant_a.account, role="engineer")
    ScriptTemplateFactory(owner=tenant_a.admin, team=tenant_a.team, slug="team-only")
    ScriptTemplateFactory(owner=tenant_a.admin, team=None, slug="everyone")
    fake_anthropic.enqueue(Reply.json(classification()), Reply.json(question_turn()))

    start(client, loner, intake_text="Anything")

    assert AISession.objects.get().team is None
    assert offered_slugs(fake_anthropic.requests[1]) == ["everyone"]


def test_an_unknown_intake_type_says_so_beside_the_choice_and_starts_nothing(tenant_a, client):
    """Issue #10.8: it answered 400 with no visible message."""
    client.force_login(tenant_a.engineer)
    response = client.post("/sessions/new/", {"intake_type": "fax", "intake_text": "Printer offline"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose what you start from" in body and 'class="field-error"' in body
    assert not AISession.objects.exists()
