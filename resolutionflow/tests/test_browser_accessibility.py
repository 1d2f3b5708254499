"""Accessibility in a real browser (issue 11): the pages no other browser walk reaches, checked with
axe-core at 1280 and 360 px (`shoot_both` runs it at every screenshot), and the focus indicator
every focusable shows, measured.

The walks in the other test_browser*.py files check the pages and states they pass through (login,
the homes, new session, the session page with the lane beside it and as a drawer, the resolve and
escalate boxes with their previews, the queue, the handoff, tickets, notifications).
"""

import re

import pytest
from playwright.sync_api import expect

from resolutionflow.testing.browser import DESKTOP, PHONE, VIEWPORT_HEIGHT, assert_accessible, login_as, shoot_both
from sessions_app.models import TemplateDraft
from sessions_app.services import fixes, lifecycle, scripts
from sessions_app.tests.factories import AISessionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPOOLER_SCRIPT = (
    "$computer = {{ computer_name }}\n"
    "$credential = {{ admin_password }}\n"
    "Restart-Service -InputObject (Get-Service -ComputerName $computer -Name Spooler) -Force"
)


def spooler_fix(session):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the print spooler on the print server")
    return scripts.fix_attach_script(fix=fix, actor=session.owner, body=SPOOLER_SCRIPT)


def test_template_editor_drafts_review_password_change_and_not_found(page, live_server, tenant_a, password):
    engineer = tenant_a.engineer
    building = AISessionFactory(owner=engineer, team=tenant_a.team)
    fix = spooler_fix(building)
    fixes.fix_decide(fix=fix, actor=engineer, decision="build_template")
    resolved = AISessionFactory(owner=engineer, team=tenant_a.team)
    ran = spooler_fix(resolved)
    fixes.fix_decide(fix=ran, actor=engineer, decision="draft_template")  # run now, templatize after
    scripts.fix_run_script(fix=ran, actor=engineer, values={"computer_name": "PRN-01", "admin_password": "x"})
    lifecycle.session_resolve(session=resolved, actor=engineer, code="fixed", summary="Spooler restarted.")
    assert TemplateDraft.objects.filter(session=resolved).exists()
    login_as(page, live_server, engineer, password)

    # Build a template first: the editor, then the same page with a field to fix (its error and
    # its help text both named by the field).
    page.goto(f"{live_server.url}/sessions/{building.pk}/fix/{fix.pk}/template/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Build a template first")
    shoot_both(page, "template-editor")
    script = page.locator("#id_body")
    expect(script).to_have_attribute("aria-describedby", "id_body_helptext")
    script.fill("")
    page.get_by_role("button", name="Save the template").last.click()
    expect(page.locator(".field-invalid")).to_contain_text("Write the script before saving it.")
    expect(script).to_have_attribute("aria-describedby", "id_body_helptext id_body_error")
    expect(script).to_have_accessible_description(re.compile(r"^PowerShell\. .* Write the script before saving it\.$"))
    shoot_both(page, "template-editor-error")

    # After Resolve: the drafts review.
    page.goto(f"{live_server.url}/sessions/{resolved.pk}/drafts/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Save what you ran as a template?")
    shoot_both(page, "drafts-review")

    # Django's password form. Its help text is a list: read in full as the field's description, not
    # an empty paragraph (a list inside the partial's <p> ended it before the list).
    page.goto(f"{live_server.url}/password/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    expect(page.locator("#id_new_password1")).to_have_accessible_description(
        re.compile(r"can.t be too similar to your other personal information.*can.t be entirely numeric")
    )
    shoot_both(page, "password-change")

    # A page that is not there, as rendered.
    response = page.goto(f"{live_server.url}/sessions/999999/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    shoot_both(page, "not-found")


# --- the focus indicator ------------------------------------------------------------------------

# What the focused element shows: its outline (style, width, colour) and the colour the outline is
# drawn on: the first opaque background behind it (the element's own for an inset outline, else its
# parents'), with translucent layers on the way composited.
FOCUS_RING_JS = """
() => {
  const el = document.activeElement;
  const label = el.textContent || el.name || "";
  const style = getComputedStyle(el);
  // "rgb(r, g, b)", "rgba(r, g, b, a)" or, from color-mix(), "color(srgb r g b / a)" with channels 0..1.
  const rgba = c => {
    const m = c.match(/[\\d.]+/g).map(Number);
    const scale = c.startsWith("color(") ? 255 : 1;
    return [m[0] * scale, m[1] * scale, m[2] * scale, m.length > 3 ? m[3] : 1];
  };
  const layers = [];
  let node = parseFloat(style.outlineOffset) < 0 ? el : el.parentElement;
  for (; node; node = node.parentElement) {
    const bg = rgba(getComputedStyle(node).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] >= 1) break;
  }
  let under = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) under = under.map((u, i) => [r, g, b][i] * a + u * (1 - a));
  return {
    what: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${label.trim().slice(0, 30)}`,
    style: style.outlineStyle, width: parseFloat(style.outlineWidth), colour: rgba(style.outlineColor), under,
  };
}
"""


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_focusable_shows_a_focus_ring_of_at_least_3_to_1(page, live_server, tenant_a, password, width):
    """The ring was drawn at 45% opacity (about 2.1:1 on white) and fields showed focus by a 1 px
    border tint. Now everything the keyboard reaches on a page with the top bar, links, fields and
    buttons draws a solid outline of 2 px or more that stands 3:1 against what it is drawn on
    (WCAG non-text contrast, 1.4.11)."""
    page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
    login_as(page, live_server, tenant_a.engineer, password)
    page.goto(f"{live_server.url}/tickets/new/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")  # the bell, loaded after the page

    seen, problems = [], []
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        ring = page.evaluate(FOCUS_RING_JS)
        if seen and ring["what"] == seen[0]:
            break  # round the page once
        seen.append(ring["what"])
        *rgb, alpha = ring["colour"]
        drawn = [c * alpha + u * (1 - alpha) for c, u in zip(rgb, ring["under"], strict=True)]
        ratio = contrast(drawn, ring["under"])
        if ring["style"] in ("none", "hidden") or ring["width"] < 2 or ratio < 3:
            problems.append(f"{ring['what']!r}: {ring['style']} {ring['width']:g}px, {ratio:.2f}:1 on {ring['under']}")
    kinds = " ".join(seen)
    for expected in ["a ", "input", "textarea", "button", "summary"]:
        assert expected in kinds, f"the walk never focused a {expected.strip()}: {seen}"
    assert not problems, f"focus indicators under 2px or 3:1 at {width} px:\n" + "\n".join(problems)


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
