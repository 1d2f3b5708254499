"""The L1 walk page in headless Chromium, on a phone (360 px): a whole AI-built walk to resolved,
a double tap recorded once, an answer tapped offline sent once when the network returns, ad-hoc
notes that save as the tech types. The AI is the real SDK against the fake Messages API, scripted
node by node; every screenshot is also an axe-core check."""

import pytest
from playwright.sync_api import expect

from flywheel_app.models import FlowProposal
from flywheel_app.tests.factories import FlowFactory, simple_tree
from l1_app.models import Walk
from l1_app.tests.factories import WalkFactory
from resolutionflow.ai.fake_api import Reply
from resolutionflow.testing.browser import PHONE, VIEWPORT_HEIGHT, login_as, shoot_both

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = {"type": "question", "text": "Is the printer screen showing an error?", "yes_label": "It shows an error",
         "no_label": "No error"}  # fmt: skip
SECOND = {"type": "instruction", "text": "Turn the printer off, wait ten seconds, and turn it on again."}
THIRD = {"type": "resolved", "text": "Restarting the printer cleared the error."}


def node_calls(fake) -> int:
    return sum(1 for r in fake.requests if "next node" in str(r["messages"][0]["content"]))


def on_phone(page):
    page.set_viewport_size({"width": PHONE, "height": VIEWPORT_HEIGHT})


def start_walk(page, live_server, problem="The office printer shows an error and will not print"):
    page.goto(f"{live_server.url}/l1/")
    page.get_by_label("What is the problem?").fill(problem)
    with page.expect_navigation():
        page.get_by_role("button", name="Start", exact=True).click()


def test_a_whole_ai_built_walk_to_resolved_on_a_phone(page, live_server, tenant_a, password, fake_anthropic):
    fake_anthropic.enqueue(Reply.json({"category": "printer"}), Reply.json(FIRST), Reply.json(SECOND),
                           Reply.json(THIRD))  # fmt: skip
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    shoot_both(page, "l1-home")
    on_phone(page)
    start_walk(page, live_server)
    heading = page.locator("#walk-step-heading")
    expect(heading).to_have_text(FIRST["text"])
    expect(page.get_by_text("AI-built steps.")).to_be_visible()
    for button in page.locator(".btn-answer").all():
        assert button.bounding_box()["height"] >= 48 and button.bounding_box()["width"] >= 48
    shoot_both(page, "l1-walk-question")
    on_phone(page)

    page.get_by_role("button", name="It shows an error").click()
    expect(heading).to_have_text(SECOND["text"])
    expect(heading).to_be_focused()  # the tech's own tap moved on: focus follows
    page.get_by_role("button", name="Done").click()
    expect(heading).to_have_text(THIRD["text"])
    page.get_by_text("Path so far").click()
    expect(page.locator(".walk-path-list li")).to_have_count(2)
    expect(page.locator(".walk-path-list")).to_contain_text("It shows an error")
    shoot_both(page, "l1-walk-resolved-node")
    on_phone(page)

    expect(page.get_by_label("What fixed it")).to_have_value(THIRD["text"])
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#walk-done-heading")).to_have_text("Resolved")
    shoot_both(page, "l1-walk-done")

    walk = Walk.objects.get(tech=tenant_a.l1)
    assert walk.status == "resolved" and walk.helpful is True
    assert [s.answer_label for s in walk.steps.order_by("order") if s.answered] == ["It shows an error", "Done"]
    proposal = FlowProposal.objects.get(walk=walk)
    assert proposal.source == "ai_realtime_l1" and proposal.validated_by_outcome
    assert node_calls(fake_anthropic) == 3


def test_a_double_tap_records_the_answer_once(page, live_server, tenant_a, password, fake_anthropic):
    fake_anthropic.enqueue(Reply.json({"category": "printer"}), Reply.json(FIRST), Reply.json(SECOND))
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    start_walk(page, live_server)
    expect(page.locator("#walk-step-heading")).to_have_text(FIRST["text"])
    # The page asked for its first step itself: the taps come once that swap has settled, as a
    # person's would. Before then htmx may not have bound the new form yet, and a scripted click
    # right after the swap posted it as a plain form: the page navigated under the script (seen
    # once in a fresh-clone run and once under load).
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    # Two taps in the same instant, and the same request sent twice behind htmx's back.
    page.evaluate(
        """() => {
          const form = document.querySelector('[data-answer-form]');
          const body = new URLSearchParams(new FormData(form, form.querySelector('button[value=no]')));
          const send = () => fetch(form.action, {method: 'POST', body, headers: {'HX-Request': 'true'}});
          form.querySelector('button[value=no]').click();
          form.querySelector('button[value=no]').click();
          return Promise.all([send(), send()]);
        }"""
    )
    expect(page.locator("#walk-step-heading")).to_have_text(SECOND["text"])
    walk = Walk.objects.get(tech=tenant_a.l1)
    steps = list(walk.steps.order_by("order"))
    assert [(s.node_id, s.answer_label) for s in steps] == [("n1", "No error"), ("n2", "")]
    assert node_calls(fake_anthropic) == 2


def test_an_answer_tapped_offline_is_kept_and_sent_once_back_online(page, live_server, tenant_a, password,
                                                                     fake_anthropic):  # fmt: skip
    fake_anthropic.enqueue(Reply.json({"category": "printer"}), Reply.json(FIRST), Reply.json(SECOND))
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    start_walk(page, live_server)
    expect(page.locator("#walk-step-heading")).to_have_text(FIRST["text"])

    page.context.set_offline(True)
    page.get_by_role("button", name="It shows an error").click()
    note = page.locator("[data-offline-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Not sent yet")
    shoot_both(page, "l1-walk-offline")
    walk = Walk.objects.get(tech=tenant_a.l1)
    assert not walk.steps.get(node_id="n1").answered  # nothing reached the server

    page.context.set_offline(False)
    expect(page.locator("#walk-step-heading")).to_have_text(SECOND["text"], timeout=15000)
    expect(note).to_be_hidden()
    steps = list(walk.steps.order_by("order"))
    assert [(s.node_id, s.answer_label) for s in steps] == [("n1", "It shows an error"), ("n2", "")]
    assert node_calls(fake_anthropic) == 2
    # A reload replays the served step; nothing is sent twice, nothing new is built.
    page.reload()
    expect(page.locator("#walk-step-heading")).to_have_text(SECOND["text"])
    assert walk.steps.count() == 2 and node_calls(fake_anthropic) == 2


def test_ad_hoc_notes_save_as_the_tech_types(page, live_server, tenant_a, password):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, kind="ad_hoc", category="")
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    page.goto(f"{live_server.url}/l1/walks/{walk.pk}/")
    page.get_by_label("Notes for this walk").fill("Reseated the USB cable; the mouse works again.")
    expect(page.locator("#notes-status")).to_have_text("Saved")
    walk.refresh_from_db()
    assert walk.notes == "Reseated the USB cable; the mouse works again."
    shoot_both(page, "l1-walk-ad-hoc")


def test_the_intake_suggests_a_close_flow_and_walks_it_in_one_tap(page, live_server, tenant_a, password):
    FlowFactory(account=tenant_a.account, title="Printer offline", keywords=["printer paper tray jam"],
                domain="printing", tree=simple_tree("Is the printer powered on?"))  # fmt: skip
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    start_walk(page, live_server, problem="the printer is offline")
    expect(page.get_by_text("A flow looks close")).to_be_visible()
    shoot_both(page, "l1-intake-suggest")
    with page.expect_navigation():
        page.get_by_role("button", name="Walk “Printer offline”").click()
    expect(page.locator("#walk-step-heading")).to_have_text("Is the printer powered on?")
    page.get_by_role("button", name="Yes").click()
    expect(page.locator("#walk-step-heading")).to_have_text("Check the cable.")


def test_out_of_scope_offers_the_ways_on(page, live_server, tenant_a, password, fake_anthropic):
    fake_anthropic.enqueue(Reply.json({"category": "unknown"}))
    login_as(page, live_server, tenant_a.l1, password)
    on_phone(page)
    start_walk(page, live_server, problem="The SAN controller reports a degraded array")
    expect(page.get_by_text("Out of scope for an AI-built walk.")).to_be_visible()
    shoot_both(page, "l1-intake-out-of-scope")
    with page.expect_navigation():
        page.get_by_role("button", name="Walk ad hoc (notes)").click()
    expect(page.get_by_label("Notes for this walk")).to_be_visible()
    assert Walk.objects.get(tech=tenant_a.l1).kind == "ad_hoc"
