"""The ConnectWise settings and member pages in a real browser against the fake ConnectWise:
an admin connects, chooses the statuses from the board's, matches the people by e-mail and
assigns one by hand. Screenshots (360 and 1280 px, axe-core clean) go to test-output/screenshots/."""

import pytest
from playwright.sync_api import expect

from resolutionflow.psa.models import PSAConnection, PSAMember
from resolutionflow.testing.browser import login_as, shoot_both

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_connects_connectwise_and_maps_the_members(page, live_server, tenant_a, password, fake_connectwise):
    fake_connectwise.members[0]["primaryEmail"] = tenant_a.engineer.email
    login_as(page, live_server, tenant_a.admin, password)
    page.goto(f"{live_server.url}/manage/")
    page.get_by_role("link", name="ConnectWise").click()
    expect(page.get_by_role("heading", name="ConnectWise Manage")).to_be_visible()
    shoot_both(page, "psa-connection-new")

    page.get_by_label("Site host").fill(f"https://{fake_connectwise.site}")
    page.get_by_label("Company id").fill(fake_connectwise.company_id)
    page.get_by_label("Public key").fill(fake_connectwise.public_key)
    page.get_by_label("Private key").fill(fake_connectwise.private_key)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("Give the host only")).to_be_visible()
    assert fake_connectwise.private_key not in page.content()  # not even sent back with the refusal
    page.get_by_label("Site host").fill(fake_connectwise.site)
    page.get_by_label("Private key").fill(fake_connectwise.private_key)
    page.get_by_label("Private key").press("Enter")
    expect(page.locator("#psa-connection-state")).to_contain_text("Connected.")

    page.get_by_label("Service board").select_option(label="Service Desk")
    page.get_by_role("button", name="Show its statuses").click()
    page.get_by_label("Resolved status").select_option(label="Resolved")
    page.get_by_label("Escalated status").select_option(label="Escalated to L3")
    page.get_by_role("button", name="Save statuses").click()
    expect(page.get_by_text("Statuses saved.")).to_be_visible()
    conn = PSAConnection.objects.get(account=tenant_a.account)
    assert (conn.resolved_status_name, conn.escalated_status_name) == ("Resolved", "Escalated to L3")
    assert fake_connectwise.private_key not in page.content()
    expect(page.locator("#psa-key-state")).to_have_text("set")
    shoot_both(page, "psa-connection-connected")

    page.get_by_role("link", name="Members").first.click()
    expect(page.locator(f"#psa-member-{tenant_a.engineer.pk}")).to_contain_text("Matched by e-mail")  # on connect
    page.get_by_role("button", name="Match everyone by e-mail").click()
    expect(page.get_by_text("Matched by e-mail: 1")).to_be_visible()
    row = page.locator(f"#psa-member-{tenant_a.l1.pk}")
    row.get_by_label(f"Member for {tenant_a.l1}").select_option(label="Eli Brandt (eli)")
    row.get_by_role("button", name="Assign").click()
    expect(page.locator(f"#psa-member-{tenant_a.l1.pk}")).to_contain_text("Assigned by hand")
    assert PSAMember.objects.get(user=tenant_a.l1).match == "manual"
    assert fake_connectwise.private_key not in page.content()
    shoot_both(page, "psa-members")


def test_an_engineer_starts_from_a_connectwise_ticket_sees_its_context_and_resolves(
    page, live_server, tenant_a, password, connect, fake_connectwise
):
    connect(tenant_a.account, board_id=1, resolved_status_id=104, resolved_status_name="Resolved")
    fake_connectwise.members[0]["primaryEmail"] = tenant_a.engineer.email  # matched by e-mail at the first post
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/sessions/new/")
    page.get_by_label("PSA ticket", exact=True).check()
    page.get_by_label("PSA ticket number").fill("48213")
    page.get_by_label("PSA ticket number").press("Enter")
    context = page.get_by_test_id("ticket-context")
    expect(context).to_contain_text("Ticket #48213 · Contoso Dental · Priority 2 - High")
    context.locator("summary").click()
    expect(context).to_contain_text("Checked: the account is not locked in AD.")
    shoot_both(page, "session-connectwise-context")
    page.locator("summary", has_text="Resolve").first.click()
    page.get_by_label("Fixed", exact=True).check()  # a resolve asks for its code (issue 16)
    page.get_by_label("How was it resolved?").fill("Cleared the cached Office credentials")
    page.get_by_role("button", name="Resolve and post the note").click()
    page.get_by_test_id("pushes").locator("summary").first.click()
    expect(page.get_by_text("Ticket moved from New to Resolved (read back).")).to_be_visible()
    shoot_both(page, "session-connectwise-resolved")
    note = fake_connectwise.notes[48213][-1]
    assert (
        note["resolutionFlag"] is True
        and note["member"] == {"id": 176}
        and "Cleared the cached Office credentials" in note["text"]
    )
    assert fake_connectwise.time_entries and fake_connectwise.tickets[48213]["status"]["name"] == "Resolved"
