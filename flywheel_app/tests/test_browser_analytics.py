"""The analytics page in a real browser with enough history for every chart: an owner opens it from
the admin home, switches the period, opens a chart's table. Screenshots at 360 and 1280 px go to
test-output/screenshots/ (analytics-*) for a person to look at; axe-core checks both widths."""

import re

import pytest
from playwright.sync_api import expect

from flywheel_app.tests.analytics_data import seed_history
from flywheel_app.tests.factories import FlowFactory
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
