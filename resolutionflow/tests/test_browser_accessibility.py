"""Accessibility in a real browser (issue 11): the axe-core helper the browser tests share."""

import pytest

from resolutionflow.testing.browser import DESKTOP, assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# --- the helper itself -------------------------------------------------------------------------


def test_the_helper_fails_listing_each_violation_and_where(page):
    """A check that never fails checks nothing: on a page with known faults the helper names each
    rule, its impact and the offending elements."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>'
        '<details class="menu"><summary><span style="display:none">Dana</span></summary><p>Hi</p></details>'
        '<label for="q">Search</label><input id="q" type="search" aria-describedby="q_helptext">'
        "</main></body></html>"
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "a broken page")
    report = str(failure.value)
    assert report.startswith(f"axe-core: 2 rule(s) violated on a broken page at {DESKTOP} px"), report
    assert "\n- summary-name (serious): Summary elements must have discernible text\n    summary — " in report
    assert "\n- idref-missing (serious): " in report
    assert '\n    input#q — aria-describedby="q_helptext": no such id' in report
