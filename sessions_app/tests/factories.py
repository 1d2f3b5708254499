"""Factories for engineer sessions, and builders of the AI's answers (turns and classifications)
shaped exactly like `sessions_app.prompts.TURN_SCHEMA` / `CLASSIFY_SCHEMA`."""

import json
import re

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from resolutionflow.accounts.tests.factories import UserFactory
from sessions_app import prompts
from sessions_app.models import AISession, LaneItem, ScriptTemplate, SessionStep

# --- what the AI answers ------------------------------------------------------------------


def classification(summary="Outlook prompts for a password", domain="email", urgency="medium", symptoms=None) -> dict:
    return {"summary": summary, "domain": domain, "urgency": urgency, "key_symptoms": list(symptoms or [])}


def lane(questions=(), checks=()) -> dict:
    return {
        "questions": [{"text": t, "why": "why"} for t in questions],
        "checks": [{"text": t, "why": "why"} for t in checks],
    }


def question_turn(
    text="Does it happen on every device?",
    *,
    options=(("Yes", "yes"), ("No", "no")),
    free=True,
    skip=True,
    confidence=0.3,
    questions=(),
    checks=(),
    why="Separates the account from the device.",
) -> dict:
    return {
        "step": {
            "type": "question",
            "question": {
                "text": text,
                "why": why,
                "options": [{"label": label, "value": value} for label, value in options],
                "allow_free_text": free,
                "allow_skip": skip,
            },
            "action": None,
            "resolution": None,
        },
        "confidence": confidence,
        "reasoning": "Working hypothesis.",
        "lane": lane(questions, checks),
    }


def action_turn(
    instruction="Clear the cached credentials and sign in again.",
    *,
    kind="instruction",
    expected="Outlook stops prompting.",
    confidence=0.5,
    questions=(),
    checks=(),
) -> dict:
    return {
        "step": {
            "type": "action",
            "question": None,
            "action": {
                "instruction": instruction,
                "why": "Stale tokens cause prompts.",
                "kind": kind,
                "expected_outcome": expected,
                "script_template": None,
                "script_parameters": None,
            },
            "resolution": None,
        },
        "confidence": confidence,
        "reasoning": "Stale credential.",
        "lane": lane(questions, checks),
    }


def resolution_turn(fix="Removed the stale Office credentials.", *, confidence=0.85) -> dict:
    return {
        "step": {
            "type": "resolution_suggestion",
            "question": None,
            "action": None,
            "resolution": {
                "fix": fix,
                "summary": "The cached token was stale after the password change.",
                "follow_ups": ["Tell the user to sign in once on each device."],
            },
        },
        "confidence": confidence,
        "reasoning": "Confirmed.",
        "lane": lane(),
    }


def canonical(turn: dict) -> str:
    return json.dumps(turn, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def step_content(turn: dict) -> dict:
    key = {"question": "question", "action": "action", "resolution_suggestion": "resolution"}[turn["step"]["type"]]
    content = dict(turn["step"][key])
    if key == "action":
        content["script_parameters"] = {}
    return content


def message_text(request: dict, index: int = -1) -> str:
    """The text of one message of a request the fake API received (the last one by default)."""
    content = request["messages"][index]["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


def fenced(text: str, source: str) -> str:
    """The body of the first `<data source="...">` fence of `text`."""
    match = re.search(rf'<data source="{source}"[^>]*>\n(.*?)\n</data>', text, re.DOTALL)
    assert match, f"no {source} fence in {text[:300]!r}"
    return match.group(1)


# --- models ------------------------------------------------------------------------------


class AISessionFactory(DjangoModelFactory):
    class Meta:
        model = AISession

    owner = factory.SubFactory(UserFactory)
    account = factory.SelfAttribute("owner.account")
    intake_type = AISession.IntakeType.TEXT
    intake_content = factory.Sequence(lambda n: f"Outlook keeps asking user {n} for a password since Monday")
    problem_summary = factory.LazyAttribute(lambda o: o.intake_content[:120])
    problem_domain = "email"
    context_message = factory.LazyAttribute(
        lambda o: prompts.context_message(
            intake_type=o.intake_type,
            intake=o.intake_content,
            ticket_context=None,
            ticket_note="",
            classification=classification(summary=o.problem_summary, domain=o.problem_domain),
            flow_guide="",
            templates=[],
        )
    )


class SessionStepFactory(DjangoModelFactory):
    class Meta:
        model = SessionStep

    class Params:
        turn = factory.LazyFunction(question_turn)

    session = factory.SubFactory(AISessionFactory)
    account = factory.SelfAttribute("session.account")
    order = 1
    step_type = factory.LazyAttribute(lambda o: o.turn["step"]["type"])
    content = factory.LazyAttribute(lambda o: step_content(o.turn))
    raw_turn = factory.LazyAttribute(lambda o: canonical(o.turn))
    confidence = factory.LazyAttribute(lambda o: o.turn["confidence"])
    reasoning = factory.LazyAttribute(lambda o: o.turn["reasoning"])


def answer_step(step: SessionStep, *, text: str = "It happens on every device.") -> SessionStep:
    """Mark a factory-built step answered with free text, as the service would have."""
    step.response_kind = SessionStep.ResponseKind.FREE_TEXT
    step.response_text = text
    step.responded_at = timezone.now()
    step.responded_by = step.session.owner
    step.answer_message = prompts.answer_message(answer=text, lane_answers=[])
    step.save()
    return step


def session_with_steps(*, owner, steps: int, last_answered: bool = False, **session_kwargs) -> AISession:
    """A session with `steps` steps, every one answered except (by default) the last, with lane items."""
    session = AISessionFactory(owner=owner, **session_kwargs)
    for order in range(1, steps + 1):
        turn = question_turn(f"Question number {order}?", confidence=min(0.9, 0.1 + order / 40))
        step = SessionStepFactory(session=session, order=order, turn=turn)
        if order < steps or last_answered:
            answer_step(step, text=f"Answer number {order}")
    for n in range(1, 4):
        LaneItemFactory(session=session, kind=LaneItem.Kind.QUESTION, public_id=f"Q{n}", last_step=steps)
        LaneItemFactory(session=session, kind=LaneItem.Kind.CHECK, public_id=f"C{n}", last_step=steps)
    AISession.objects.filter(pk=session.pk).update(step_count=steps)
    session.refresh_from_db()
    return session


class LaneItemFactory(DjangoModelFactory):
    class Meta:
        model = LaneItem

    session = factory.SubFactory(AISessionFactory)
    account = factory.SelfAttribute("session.account")
    kind = LaneItem.Kind.QUESTION
    public_id = factory.Sequence(lambda n: f"Q{n + 1}")
    text = factory.Sequence(lambda n: f"Open question {n}?")
    normalized_text = factory.LazyAttribute(lambda o: LaneItem.normalize(o.text))
    why = "It narrows the cause."
    first_step = 1
    last_step = 1


class ScriptTemplateFactory(DjangoModelFactory):
    class Meta:
        model = ScriptTemplate

    account = factory.SelfAttribute("owner.account")
    owner = factory.SubFactory(UserFactory)
    visibility = ScriptTemplate.Visibility.TEAM
    team = None
    name = factory.Sequence(lambda n: f"Template {n}")
    slug = factory.Sequence(lambda n: f"template-{n}")
    category = "Diagnostics"
    description = "Collects diagnostics."
    body = "Get-Service -Name {{ service }}"
    parameters = factory.LazyFunction(lambda: [{"key": "service", "label": "Service", "type": "text"}])
