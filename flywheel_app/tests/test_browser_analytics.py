"""The analytics page in a real browser with enough history for every chart: an owner opens it from
the admin home, switches the period, opens a chart's table. Screenshots at 360 and 1280 px go to
test-output/screenshots/ (analytics-*) for a person to look at; axe-core checks both widths."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from flywheel_app.tests.analytics_data import seed_history
from flywheel_app.tests.factories import FlowFactory
from resolutionflow.accounts.management.commands.seed_demo import DEMO_PASSWORD
from resolutionflow.accounts.models import User
from resolutionflow.testing.browser import login_as, shoot_both

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_reads_the_analytics_page(page, live_server, tenant_a, tenant_b, password):
    flow = FlowFactory(account=tenant_a.account, domain="email", title="Outlook asks for the password")
    seed_history(account=tenant_a.account, owner=tenant_a.engineer, claimer=tenant_a.admin, sessions=240, flow=flow)
    seed_history(account=tenant_b.account, owner=tenant_b.engineer, claimer=tenant_b.admin, sessions=20)

    login_as(page, live_server, tenant_a.owner, password)
    page.goto(f"{live_server.url}/manage/")
    page.get_by_role("link", name="Analytics").first.click()
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("img", name="Time to resolution, per day")).to_be_visible()
    shoot_both(page, "analytics-30")

    page.get_by_role("link", name="Last 90 days").click()
    expect(page.get_by_role("img", name="Time to resolution, per week")).to_be_visible()
    figure = page.locator("#chart-psa-failures")
    figure.get_by_text("Show as a table").click()
    expect(figure.get_by_role("table")).to_contain_text("ConnectWise answered 401")
    expect(figure.get_by_role("link", name=re.compile(r"Data \(CSV\).*Why pushes failed"))).to_be_visible()
    shoot_both(page, "analytics-90")


def test_the_demo_owner_sees_every_section_and_a_gap_leads_to_its_action(page, live_server):
    """`make run`'s demo, as a new owner meets it: the seeded history fills every section, and a
    knowledge gap's "Draft a flow" lands on a proposal in the review queue."""
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_sessions", stdout=io.StringIO())
    call_command("seed_demo_history", stdout=io.StringIO())
    owner = User.objects.get(email="owner@northwind.example")

    login_as(page, live_server, owner, DEMO_PASSWORD)
    page.goto(f"{live_server.url}/manage/analytics/")
    for key in ("overview", "coverage", "flow_quality", "escalations", "psa", "ai_cost", "gaps"):
        section = page.locator(f"#flywheel_app-analytics-{key}")
        expect(section).to_be_visible()
        expect(section.locator(".empty")).to_have_count(0)  # the demo has data for every section
    expect(page.locator(".gap-title").first).to_be_visible()
    shoot_both(page, "analytics-demo")

    with page.expect_navigation():
        page.get_by_role("button", name="Draft a flow").first.click()
    assert "/admin/flywheel_app/flowproposal/" in page.url
    expect(page.get_by_role("region", name="Decision").get_by_text("Pending")).to_be_visible()
