"""Demo mode (SPEC §10): without an API key the app runs, labelled, on the offline provider."""

import os
import subprocess
import sys

import jsonschema
import pytest
from django.conf import settings as django_settings

from resolutionflow.ai import demo
from resolutionflow.ai.client import Subject, ai_json, ai_text
from resolutionflow.ai.errors import AIError
from resolutionflow.ai.models import AIUsage
from resolutionflow.ai.prompts import HEALTHCHECK_SCHEMA, HEALTHCHECK_SYSTEM

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 5},
        "checks": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "next": {"type": "string", "enum": ["ask", "propose_fix"]},
        "attempts": {"type": "integer", "minimum": 1},
    },
    "required": ["question", "checks", "confidence", "next", "attempts"],
    "additionalProperties": False,
}
GENERIC_ACTION = "flywheel_analysis"

SETTINGS_PROBE = """
import importlib, os
import resolutionflow.settings as s
print(s.AI_MODE)
os.environ["ANTHROPIC_API_KEY"] = ""
print(importlib.reload(s).AI_MODE)
os.environ["ANTHROPIC_API_KEY"] = "sk-ant-probe"
print(importlib.reload(s).AI_MODE)
"""


@pytest.fixture
def demo_mode(settings):
    settings.AI_MODE = "demo"
    settings.ANTHROPIC_API_KEY = ""


def test_settings_choose_demo_mode_without_a_key():
    dotenv = django_settings.BASE_DIR / ".env"
    if dotenv.exists() and "ANTHROPIC_API_KEY" in dotenv.read_text():
        pytest.skip(".env sets ANTHROPIC_API_KEY, so 'no key' cannot be arranged from the environment")
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}

    probe = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert probe.stdout.split() == ["demo", "demo", "anthropic"]


def test_the_demo_provider_answers_offline_and_records_usage(fake_anthropic, tenant_a, settings):
    settings.AI_MODE = "demo"  # even with a base URL configured, demo mode never calls out

    result = ai_json(
        action="healthcheck",
        system=HEALTHCHECK_SYSTEM,
        messages="ping",
        schema=HEALTHCHECK_SCHEMA,
        account=tenant_a.account,
        user=tenant_a.engineer,
        subject=Subject("session", 7),
    )

    assert result == {"status": "ok"}
    assert fake_anthropic.requests == []
    row = AIUsage.objects.get()
    assert (row.provider, row.model, row.outcome, row.action, row.tier) == ("demo", "demo", "ok", "healthcheck", "fast")
    assert (row.account, row.user, row.subject_type, row.subject_id) == (
        tenant_a.account,
        tenant_a.engineer,
        "session",
        7,
    )
    assert row.cost_usd == 0
    assert row.input_tokens == row.output_tokens == 0


def test_an_action_without_a_responder_gets_a_schema_valid_deterministic_answer(demo_mode, tenant_a, monkeypatch):
    monkeypatch.delitem(demo._responders, GENERIC_ACTION, raising=False)

    def ask():
        return ai_json(
            action=GENERIC_ACTION,
            system="Analyse the session.",
            messages="Ticket: disk full.",
            schema=SCHEMA,
            account=tenant_a.account,
        )

    first, second = ask(), ask()

    jsonschema.validate(first, SCHEMA)
    assert first == second
    assert AIUsage.objects.filter(provider="demo", outcome="ok").count() == 2


def test_demo_text_is_deterministic_and_labelled(demo_mode, tenant_a):
    def ask():
        return ai_text(
            action="resolution_note",
            system="Write the note.",
            messages="Ticket: printer offline.",
            account=tenant_a.account,
            user=tenant_a.engineer,
        )

    first = ask()

    assert first
    assert first == ask()
    assert set(AIUsage.objects.values_list("provider", flat=True)) == {"demo"}


def test_a_demo_responder_out_of_step_with_its_schema_is_an_ai_error(demo_mode, tenant_a, monkeypatch):
    monkeypatch.setitem(demo._responders, "healthcheck", lambda request: {"status": "maybe"})

    with pytest.raises(AIError) as caught:
        ai_json(
            action="healthcheck",
            system=HEALTHCHECK_SYSTEM,
            messages="ping",
            schema=HEALTHCHECK_SCHEMA,
            account=tenant_a.account,
        )

    assert caught.value.kind == "invalid_output"
    assert AIUsage.objects.get().outcome == "invalid_output"


def test_the_page_is_labelled_demo_ai_in_demo_mode(demo_mode, login, tenant_a):
    response = login(tenant_a.engineer).get("/engineer/")

    assert response.status_code == 200
    assert "Demo AI" in response.content.decode()


def test_the_page_is_not_labelled_with_an_api_key(fake_anthropic, login, tenant_a):
    response = login(tenant_a.engineer).get("/engineer/")

    assert response.status_code == 200
    assert "Demo AI" not in response.content.decode()
