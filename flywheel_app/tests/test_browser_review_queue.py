"""The review queue in a real browser: an admin filters the queue, opens an enhancement beside its
flow, edits it and publishes it as the flow's new version. Screenshots at 360 and 1280 px go to
test-output/screenshots/ (review-*) for a person to look at."""

import json
import re

import pytest
from playwright.sync_api import expect

from flywheel_app.models import Flow, FlowProposal
from flywheel_app.tests.factories import FlowFactory, FlowProposalFactory, simple_tree
from resolutionflow.testing.browser import DESKTOP, PHONE, login_as, screenshot, shoot_both

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_reviews_an_enhancement_beside_its_flow_and_publishes_it(page, live_server, tenant_a, password):
    flow = FlowFactory(
        account=tenant_a.account, title="Laptop will not power on", domain="hardware", tree=simple_tree()
    )
    enhancement = FlowProposalFactory(
        session__owner=tenant_a.engineer, enhancement=True, target_flow=flow,
        title="Check the power LED before reseating cables",
    )  # fmt: skip
    FlowProposalFactory(session=enhancement.session, title="Docking station loses both external monitors",
                        domain="hardware", keywords=["dock", "monitors"])  # fmt: skip
    FlowProposalFactory(session=enhancement.session, title="Shared mailbox missing from Outlook", domain="email",
                        validated_by_outcome=False)  # fmt: skip

    login_as(page, live_server, tenant_a.admin, password)
    queue_card = page.locator("#accounts-review-queue")
    expect(queue_card).to_contain_text("3 proposals waiting for a decision")
    expect(queue_card.get_by_role("link", name="Check the power LED before reseating cables")).to_be_visible()
    shoot_both(page, "review-admin-home")

    # The queue, filtered to enhancements.
    queue_card.get_by_role("link", name="Open the queue").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    page.locator("#changelist-filter").get_by_role("link", name="Enhancement").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Check the power LED before reseating cables")
    expect(rows.first).to_contain_text("1 session")
    shoot_both(page, "review-queue")

    # The proposal beside the flow it changes, the changes marked.
    rows.first.get_by_role("link", name="Check the power LED before reseating cables").click()
    proposed = page.get_by_role("region", name="Proposed tree")
    current = page.get_by_role("region", name="Current tree")
    expect(current).to_contain_text("Laptop will not power on")
    expect(proposed.locator(".tree-line-added").first).to_contain_text("Does the power LED light up?")
    expect(proposed.locator(".tree-mark-unexplored")).to_be_visible()
    expect(current.locator(".tree-line-removed")).to_contain_text("Power it on.")
    expect(proposed.get_by_text("was: Check the cable.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # an enhancement is edited, not approved
    shoot_both(page, "review-proposal")

    # Edit & publish: a broken tree is refused with the validator's words, nothing saved.
    page.get_by_role("link", name="Edit & publish").click()
    tree_box = page.get_by_label("Tree (JSON):")
    tree = json.loads(tree_box.input_value())
    stub = next(n for n in tree["nodes"] if n.get("needs_review"))
    stub["next"] = "nowhere"
    stub["type"] = "instruction"
    tree_box.fill(json.dumps(tree, indent=2))
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert")).to_contain_text("Instruction 'r4' leads to missing node 'nowhere'.")
    expect(page.locator(".errornote")).to_contain_text("nothing was published")
    assert FlowProposal.objects.get(pk=enhancement.pk).status == FlowProposal.Status.PENDING
    shoot_both(page, "review-publish-error")

    # The stub written out, published as the flow's new version.
    stub.pop("next")
    stub.pop("needs_review")
    stub.update(type="resolution", text="Replace the power adapter; if the LED stays dark, book a repair.")
    tree_box = page.get_by_label("Tree (JSON):")
    tree_box.fill(json.dumps(tree, indent=2))
    expect(page.get_by_label("The new version of “Laptop will not power on”")).to_be_checked()
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(rf"/admin/flywheel_app/flow/{flow.pk}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Published “Laptop will not power on” as the new version")
    expect(page.get_by_text("Replace the power adapter; if the LED stays dark, book a repair.").first).to_be_visible()
    screenshot(page, "review-published", PHONE)
    screenshot(page, "review-published", DESKTOP)

    flow.refresh_from_db()
    assert flow.tree == tree and flow.published
    assert Flow.objects.filter(account=tenant_a.account).count() == 1
    enhancement.refresh_from_db()
    assert enhancement.status == FlowProposal.Status.PUBLISHED and enhancement.reviewer == tenant_a.admin

    # Back on the proposal: its decision, and no buttons.
    page.goto(f"{live_server.url}/admin/flywheel_app/flowproposal/{enhancement.pk}/change/")
    expect(page.locator("#flywheel_app-decision")).to_contain_text(f"Published by {tenant_a.admin.get_full_name()}")
    expect(page.get_by_role("link", name="Edit & publish")).to_have_count(0)
    shoot_both(page, "review-decided")
