"""Pytest plugin: headless Chromium against pytest-django's `live_server` (see conftest.py).

Browser tests are marked `pytest.mark.browser` and need
`@pytest.mark.django_db(transaction=True)`: the live server answers from another thread, so
the data a test creates must be committed for it to see.

    def test_x(page, live_server, tenant_a, password):
        login_as(page, live_server, tenant_a.engineer, password)
        shoot_both(page, "engineer-home")        # screenshots and axe-core at 360 and 1280 px
        assert_accessible(page, "engineer-home")  # axe-core alone, at the current width

Every screenshot is also an accessibility check: `screenshot` runs axe-core (WCAG 2.1 A/AA and
best practice) on the page as shown, and fails listing each violation.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT_HEIGHT = 800
PHONE, DESKTOP = 360, 1280
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "screenshots"
# axe-core, from npm (package.json, a devDependency): a test tool, injected into the page under test
# by the helper below, never served by the app.
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# Playwright's sync API keeps an asyncio loop "running" on the main thread (in a greenlet) for
# as long as it is started, and Django refuses synchronous ORM calls while a loop runs there.
# The factories and assertions of a test are plain synchronous code, so lift the guard for the
# test process. It never reaches the app outside tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    # `launch` gives every run a fresh, throwaway user-data dir.
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def _browser_fast_password_hashing(request):
    """Browser tests build whole tenants (five users each) and then log in for real; with the
    production hasher that is ~0.4 s per user. A fast hasher keeps the suite quick and still
    sends every login through the real form and authentication backend."""
    if request.node.get_closest_marker("browser") is None:
        return
    request.getfixturevalue("settings").PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def page(browser):
    """A page in a fresh context (no cookies shared between tests), 1280x800."""
    context = browser.new_context(viewport={"width": 1280, "height": VIEWPORT_HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def colleague_page(browser):
    """A second engineer's own browser context (no cookies shared), from the same browser, 1280x800."""
    context = browser.new_context(viewport={"width": DESKTOP, "height": VIEWPORT_HEIGHT})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def login_as(page, live_server, user, password: str) -> None:
    """Log in through the real login form and wait for the home page it redirects to."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/login/" in page.url:
        raise AssertionError(f"login as {user.email} failed; still on {page.url}")


# Let the animations and transitions that end (a toast fading in, the drawer sliding up) finish: axe
# measures colours as drawn, and a half-faded toast is not what the user reads. Endless ones (the
# thinking dots, a skeleton's shimmer) are left running.
_SETTLE_ANIMATIONS_JS = """
async () => {
  const ending = document.getAnimations().filter(a => {
    const timing = a.effect && a.effect.getComputedTiming();
    return a.playState === "running" && timing && Number.isFinite(timing.endTime);
  });
  const done = Promise.all(ending.map(a => a.finished.catch(() => null)));
  await Promise.race([done, new Promise(resolve => setTimeout(resolve, 2000))]);
}
"""

_AXE_RUN_JS = """
async tags => {
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map(rule => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    nodes: rule.nodes.map(node => {
      const check = [...node.any, ...node.all, ...node.none][0];
      return {target: node.target.join(" "), message: check ? check.message : ""};
    }),
  }));
}
"""


# Beside axe: an element that points at an id (its help text, its label, what it controls) that is
# not on the page. axe only flags that as "needs review", and a field whose help text is never read
# looks fine to the eye.
_MISSING_IDREFS_JS = """
() => {
  const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.getAttribute("name") ? `[name="${el.getAttribute("name")}"]` : "");
  const nodes = [];
  const attrs = ["aria-describedby", "aria-labelledby", "aria-controls", "for"];
  for (const el of document.querySelectorAll(attrs.map(a => a === "for" ? "label[for]" : `[${a}]`).join(","))) {
    for (const attr of attrs) {
      for (const id of (el.getAttribute(attr) || "").split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) nodes.push({target: describe(el), message: `${attr}="${id}": no such id`});
      }
    }
  }
  return nodes.length ? [{id: "idref-missing", impact: "serious",
    help: "What an element points at (help text, label, controlled region) must be on the page", nodes}] : [];
}
"""


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now, and any dangling id reference:
    [{id, impact, help, nodes: [{target, message}]}]."""
    page.evaluate(_SETTLE_ANIMATIONS_JS)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        if not AXE_SCRIPT.exists():
            raise AssertionError(f"{AXE_SCRIPT} is missing: install the npm packages (`npm ci`, as `make test` does)")
        page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(_AXE_RUN_JS, AXE_TAGS) + page.evaluate(_MISSING_IDREFS_JS)


def assert_accessible(page, name: str) -> None:
    """axe-core (WCAG 2.1 A/AA and best practice) finds nothing on the page as it is now, at the
    current width; else fail listing each violation: rule, impact, what it asks, and where."""
    violations = axe_violations(page)
    if not violations:
        return
    width = page.viewport_size["width"]
    lines = [f"axe-core: {len(violations)} rule(s) violated on {name} at {width} px ({page.url}):"]
    for rule in violations:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"][:10]:
            lines.append(f"    {node['target']}" + (f" — {node['message']}" if node["message"] else ""))
        if len(rule["nodes"]) > 10:
            lines.append(f"    … and {len(rule['nodes']) - 10} more")
    raise AssertionError("\n".join(lines))


def screenshot(page, name: str, width: int) -> Path:
    """Resize to `width` x 800, let the network settle, write test-output/screenshots/<name>-<width>.png,
    and check the page with axe-core as shown (`assert_accessible`)."""
    page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
    page.wait_for_load_state("networkidle")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    assert_accessible(page, name)
    return path


def assert_no_sideways_scroll(page, name: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE, f"{name}: the page scrolls sideways at {PHONE} px ({scroll_width} px wide)"


def shoot_both(page, name: str) -> None:
    """Screenshot and axe-core at both widths (phone first: nothing may scroll sideways there), back
    at desk width."""
    screenshot(page, name, PHONE)
    assert_no_sideways_scroll(page, name)
    screenshot(page, name, DESKTOP)


def tasks_handle(page):
    """The handle of the lane's bottom drawer ("Tasks" with a count); hidden at desk width."""
    return page.get_by_role("button", name=re.compile(r"^Tasks"))


def open_lane(page) -> None:
    """Make the lane reachable: below 1200 px it is a bottom drawer, opened by its handle (and its
    opening transition waited out); at desk width it sits beside the conversation already."""
    from playwright.sync_api import expect

    handle = tasks_handle(page)
    if not handle.is_visible() or handle.get_attribute("aria-expanded") == "true":
        return
    handle.click()
    expect(handle).to_have_attribute("aria-expanded", "true")
    page.wait_for_timeout(250)  # the drawer's opening transition


def close_lane(page) -> None:
    """Close the drawer (Escape), so the conversation it covers can be used; nothing at desk width."""
    from playwright.sync_api import expect

    handle = tasks_handle(page)
    if not handle.is_visible() or handle.get_attribute("aria-expanded") != "true":
        return
    page.keyboard.press("Escape")
    expect(handle).to_have_attribute("aria-expanded", "false")


def shoot_drawer(page, name: str) -> None:
    """At phone width the lane is a bottom drawer: open it and shoot what the phone shows (a
    full-page shot would draw the fixed drawer mid-page), then close it and go back to desk width."""
    page.set_viewport_size({"width": PHONE, "height": VIEWPORT_HEIGHT})
    open_lane(page)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{PHONE}.png"), animations="disabled")
    assert_no_sideways_scroll(page, f"{name} (drawer open)")
    assert_accessible(page, f"{name} (drawer open)")
    close_lane(page)
    page.set_viewport_size({"width": DESKTOP, "height": VIEWPORT_HEIGHT})


def show_in_lane(page, locator) -> None:
    """Scroll the lane (its own scroll box beside the conversation) to `locator`, and the window back
    to the top: a full-page shot of a scrolled window draws the sticky top bar mid-page."""
    locator.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
