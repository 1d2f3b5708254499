"""The AI cost figure of `manage.py bench`: how much of a session's input the prompt cache serves.

One session is driven for five turns as an engineer drives it (an answer on the page, then the AI
turn), through the real SDK, against the fake Messages API, which caches as the real API does (a
byte-identical prefix up to a `cache_control` breakpoint, seen within 5 minutes, is read; the
rest up to the last breakpoint is written). The AI's turns are the size of real ones: a question,
its reasoning, a task lane. Target: by the fifth turn, >= 80% of the turn's input is read from the
cache (SPEC §10, issue 14 §3). Beside each turn's share the table shows the session's so far (the
first turn, which has nothing to read, weighs on it)."""

import json

from django.test import Client, override_settings

from resolutionflow.ai.client import cache_read_share, collect_usage, usage_totals
from resolutionflow.ai.fake_api import FakeMessagesAPI, Reply
from sessions_app import prompts
from sessions_app.services import intake, turns

TURNS = 5
TARGET = 0.80
INTAKE = (
    "Since Monday's password change, Outlook on Jane Doe's laptop (Windows 11, Microsoft 365 Apps) asks "
    "for her password every few minutes. She types it, it works for a while, then the prompt comes back. "
    "Outlook on the web and Teams are fine. Her phone's mail app also worked after the change. Nothing "
    "else changed on the laptop as far as she knows; it is joined to Entra ID and managed by Intune."
)
QUESTIONS = [
    ("Does the prompt also appear in a new Outlook profile?", "A new profile rules the old cache in or out."),
    ("Is there a stale entry for Office in Credential Manager?", "Stale entries keep the old password."),
    ("Does dsregcmd /status show AzureAdPrt: YES?", "Without a valid PRT, Office falls back to prompts."),
    ("Is modern authentication enabled for the tenant?", "Basic auth prompts after a password change."),
    ("Does signing out of all Office apps and back in stop it?", "Refreshes the WAM token broker."),
]


def _turn(number: int) -> dict:
    text, why = QUESTIONS[(number - 1) % len(QUESTIONS)]
    return {
        "step": {
            "type": "question",
            "question": {
                "text": text, "why": why,
                "options": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"},
                            {"label": "Not sure", "value": "unsure"}],
                "allow_free_text": True, "allow_skip": True,
            },
            "action": None,
            "resolution": None,
        },
        "confidence": min(0.2 + 0.1 * number, 0.9),
        "reasoning": (
            "The prompts began with the password change and only the desktop client is affected, so the "
            "client's cached credentials or its token broker are the likely cause, not the account. "
            f"Step {number} narrows that down before anything is reset."
        ),
        "lane": {
            "questions": [{"text": t, "why": w} for t, w in QUESTIONS[number : number + 3]],
            "checks": [
                {"text": "Check the sign-in logs for failed attempts from this laptop", "why": "Shows the cause."},
                {"text": "Check the Office build and update channel", "why": "Old builds lack WAM fixes."},
            ],
        },
    }  # fmt: skip


def _answer(body: dict) -> Reply:
    """Turns get the next question; anything else (the classification) the fake's default answer."""
    if (body.get("system") or [{}])[0].get("text") != prompts.TURN_SYSTEM:
        return Reply()
    earlier = sum(1 for m in body["messages"] if m["role"] == "assistant")
    return Reply.json(_turn(earlier + 1))


def cache_read_by_turn(*, user, turns_count: int = TURNS) -> list[dict]:
    """Drive one session of `user` for `turns_count` AI turns; each turn's tokens, cost and share."""
    by_turn = []
    client = Client()
    client.force_login(user)
    with FakeMessagesAPI() as fake:
        fake.set_responder(_answer)
        with override_settings(AI_MODE="anthropic", ANTHROPIC_API_KEY="bench", ANTHROPIC_BASE_URL=fake.url):
            session = intake.session_start(user=user, intake_type="text", intake_text=INTAKE)
            with collect_usage() as calls:
                turns.session_take_turn(session=session, actor=user)
            by_turn.append(calls)
            for _ in range(turns_count - 1):
                step = session.steps.order_by("-order").first()
                with collect_usage() as calls:
                    response = client.post(
                        f"/sessions/{session.pk}/steps/{step.pk}/answer/",
                        {"value": "no"},
                        headers={"HX-Request": "true"},
                    )
                assert response.status_code == 200, response.status_code
                by_turn.append(calls)
    rows = []
    for calls in by_turn:
        calls = [c for c in calls if c.action == "session_turn"]
        assert calls and all(c.outcome == "ok" for c in calls), json.dumps([c.outcome for c in calls])
        rows.append({**usage_totals(calls), "share": cache_read_share(calls)})
    return rows


def report(stdout, *, user) -> bool:
    """Print the figure like the other bench lines; True when the target is met."""
    rows = cache_read_by_turn(user=user)
    stdout.write("")
    stdout.write("AI cost: prompt cache over one session's turns (real SDK, fake Messages API caching as the API)")
    stdout.write(
        f"{'turn':<6} {'input':>7} {'cache read':>11} {'cache write':>12} {'output':>7} {'USD':>9}"
        f"  {'read share':>10}  {'session so far':>14}"
    )
    read = everything = 0
    for number, row in enumerate(rows, start=1):
        read += row["cache_read_tokens"]
        everything += row["cache_read_tokens"] + row["input_tokens"] + row["cache_write_tokens"]
        stdout.write(
            f"{number:<6} {row['input_tokens']:>7} {row['cache_read_tokens']:>11} {row['cache_write_tokens']:>12} "
            f"{row['output_tokens']:>7} {row['cost_usd']:>9.6f}  {row['share']:>10.3f}  {read / everything:>14.3f}"
        )
    share = rows[-1]["share"]
    met = share >= TARGET
    stdout.write(
        f"{f'cache-read share of input at turn {len(rows)} (>= {TARGET:.2f})':<66} {share:>10.3f}"
        f" {'':>12} {'':>7}  {'met' if met else 'MISSED'}"
    )
    return met
