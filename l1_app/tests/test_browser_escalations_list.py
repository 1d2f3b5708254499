"""The engineers' list of L1 escalations in a real browser (demo AI): an engineer finds the walk on
the escalation queue page, opens the list and the walk, reads what the tech saw, starts a session
from it with the keyboard and lands on the session with the AI's first step.

Screenshots go to test-output/screenshots/ for a person to look at."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from l1_app.models import Walk
from resolutionflow.psa.services import internal_ticket_create
from resolutionflow.testing.browser import DESKTOP, login_as, screenshot, shoot_both
from sessions_app.models import AISession

from .factories import WalkFactory, WalkStepFactory, question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EITHER_OR = "Does she sign in to Windows with a Microsoft account or a local account?"


def _escalated_walk(tenant) -> Walk:
    ticket = internal_ticket_create(
        account=tenant.account, actor=tenant.l1, title="Outlook keeps asking for a password", description="Monday."
    )
    walk = WalkFactory(
        account=tenant.account,
        tech=tenant.l1,
        status=Walk.Status.ESCALATED,
        problem="Outlook keeps asking Jane for her password since she changed it on Monday.",
        category="outlook_client",
        internal_ticket=ticket,
        customer_name="Jane Doe",
        customer_contact="jane@client.example",
        escalation_category=Walk.EscalationCategory.BEYOND_L1,
        escalation_reason="Her credential manager entry has to go, and that needs an engineer.",
        finished_at=timezone.now(),
    )
    now = timezone.now()
    steps = [
        (question("n1", "Is Outlook open and showing the password prompt?"), "yes", "Yes", ""),
        (
            question("n2", EITHER_OR, yes="Microsoft account", no="Local account"),
            "no",
            "Local account",
            "The laptop is not joined to a domain.",
        ),
        (question("n3", "Does the prompt come back after a restart of Outlook?"), "yes", "Yes", ""),
    ]
    for order, (node, answer, label, note) in enumerate(steps, 1):
        WalkStepFactory(
            walk=walk,
            order=order,
            node_id=node["id"],
            node=node,
            answer=answer,
            answer_label=label,
            note=note,
            answered_at=now,
        )
    return walk


def test_an_engineer_takes_an_l1_escalation_on(page, live_server, tenant_a, password):
    walk = _escalated_walk(tenant_a)
    # Another, already taken on, shows in the list but not among those waiting on the queue page.
    WalkFactory(
        account=tenant_a.account,
        tech=tenant_a.l1,
        kind=Walk.Kind.AD_HOC,
        status=Walk.Status.ESCALATED,
        problem="The reception scanner jams on every page",
        psa_ticket_ref="48213",
        escalation_category=Walk.EscalationCategory.HARDWARE,
        escalation_reason="The feed roller looks worn.",
        finished_at=timezone.now() - timedelta(hours=3),
        session=AISession.objects.create(
            account=tenant_a.account, owner=tenant_a.admin, problem_summary="Reception scanner jams"
        ),
    )
    login_as(page, live_server, tenant_a.engineer, password)

    page.goto(f"{live_server.url}/sessions/escalations/")
    waiting = page.locator("#l1_app-escalations-waiting")
    expect(waiting.get_by_role("heading", name="From L1 walks")).to_be_visible()
    expect(waiting.get_by_role("link", name=re.compile("Outlook keeps asking Jane"))).to_be_visible()
    expect(waiting).not_to_contain_text("scanner")
    shoot_both(page, "l1-escalations-on-the-queue")

    waiting.get_by_role("link", name="All L1 escalations").click()
    expect(page).to_have_url(f"{live_server.url}/l1/escalations/")
    expect(page.get_by_role("heading", level=1)).to_have_text("L1 escalations")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Escalations")).to_have_attribute("aria-current", "page")
    rows = page.locator('[data-testid="l1-escalation"]')
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("AI-built")
    expect(rows.first).to_contain_text(walk.internal_ticket.reference)
    expect(rows.nth(1)).to_contain_text("Session #")
    expect(rows.nth(1)).to_contain_text("PSA #48213")
    shoot_both(page, "l1-escalations-list")

    rows.first.get_by_role("link", name=re.compile("Outlook keeps asking Jane")).click()
    expect(page).to_have_url(f"{live_server.url}/l1/escalations/{walk.pk}/")
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator("li")).to_have_count(3)
    expect(transcript.locator("li").nth(1)).to_contain_text(EITHER_OR)
    expect(transcript.locator("li").nth(1)).to_contain_text("Local account")
    expect(transcript.locator("li").nth(1)).to_contain_text("The laptop is not joined to a domain.")
    expect(page.get_by_text("Her credential manager entry has to go")).to_be_visible()
    shoot_both(page, "l1-escalation-detail")

    # Keyboard only: Tab reaches the button, Enter presses it.
    start = page.get_by_role("button", name="Start a session from this walk")
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if start.evaluate("el => el === document.activeElement"):
            break
    expect(start).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    session = AISession.objects.get(owner=tenant_a.engineer)
    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    assert Walk.objects.get(pk=walk.pk).session_id == session.pk
    expect(page.locator(".turn-intake")).to_contain_text("Local account")
    expect(page.locator('[data-testid="current-step"]')).to_be_visible()
    screenshot(page, "l1-escalation-session-started", DESKTOP)

    # Back on the walk: the session is linked, not started twice.
    page.goto(f"{live_server.url}/l1/escalations/{walk.pk}/")
    expect(page.get_by_role("link", name=f"Open session #{session.pk}")).to_be_visible()
    expect(page.get_by_role("button", name="Start a session from this walk")).to_have_count(0)
    assert AISession.objects.filter(owner=tenant_a.engineer).count() == 1
