"""Accessibility in a real browser (issue 11): the focus indicator every focusable shows, measured,
and the axe-core helper the browser tests share."""

import pytest
from playwright.sync_api import expect

from resolutionflow.testing.browser import DESKTOP, PHONE, VIEWPORT_HEIGHT, assert_accessible, login_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
