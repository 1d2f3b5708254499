// The session pages (new session and the session itself): keyboard shortcuts, the task drawer
// below 1200 px, the wait indicator of plain (non-htmx) forms, and a guard against leaving with
// an unsent answer. The pages work without this file.
(function () {
  "use strict";

  var DRAWER_MEDIA = "(max-width: 1199px)";

  function currentForm() { return document.querySelector(".answer-form") || document.getElementById("session-new-form"); }

  function hasUnsentInput() {
    var fields = document.querySelectorAll("[data-guard-unsent] textarea, [data-guard-unsent] input[type=text], .lane-answer input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      // The form being submitted takes its text with it.
      if (fields[i].value.trim() !== "" && !(fields[i].form && fields[i].form.dataset.submitting === "true")) return true;
    }
    return false;
  }

  // A plain form that really submits (htmx cancels the native submit of its own forms) takes
  // its own text with it, so that text does not hold the page. Its hx-indicator (the thinking
  // dots) shows while the server works, and a second submit is ignored.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.getAttribute("method") === "dialog") return;
    if (form.dataset.submitting === "true") { event.preventDefault(); return; }
    form.dataset.submitting = "true";
    var indicator = form.getAttribute("hx-indicator");
    if (indicator) document.querySelectorAll(indicator).forEach(function (el) { el.classList.add("htmx-request"); });
  });
  window.addEventListener("pageshow", function () {
    // Back from the bfcache: the page is live again.
    document.querySelectorAll("form[data-submitting]").forEach(function (form) { delete form.dataset.submitting; });
    document.querySelectorAll(".htmx-indicator.htmx-request").forEach(function (el) { el.classList.remove("htmx-request"); });
  });
  window.addEventListener("beforeunload", function (event) {
    if (hasUnsentInput()) { event.preventDefault(); event.returnValue = ""; }
  });

  // Below 1200 px the open drawer covers most of the screen, so it behaves as a modal dialog: the
  // rest of the page is inert (no Tab, no screen reader), Escape closes it and focus goes back to
  // where the user was. The announcer and the toasts stay live.
  var inerted = [], returnFocus = null;
  function setInert(drawer, on) {
    inerted.forEach(function (el) { el.inert = false; });
    inerted = [];
    // While modal the drawer is a dialog for assistive technology too; otherwise the lane landmark.
    drawer.setAttribute("role", on ? "dialog" : "complementary");
    if (on) drawer.setAttribute("aria-modal", "true"); else drawer.removeAttribute("aria-modal");
    if (!on) return;
    for (var node = drawer; node.parentElement && node !== document.body; node = node.parentElement) {
      Array.prototype.forEach.call(node.parentElement.children, function (sibling) {
        if (sibling === node || sibling.inert || sibling.matches("script, #announcer, #toasts")) return;
        sibling.inert = true;
        inerted.push(sibling);
      });
    }
  }
  function setDrawer(open, options) {
    var drawer = document.getElementById("lane-drawer");
    if (!drawer) return;
    options = options || {};
    drawer.dataset.open = open ? "true" : "false";
    var toggle = drawer.querySelector("[data-drawer-toggle]");
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
    var modal = open && window.matchMedia(DRAWER_MEDIA).matches;
    setInert(drawer, modal);
    if (modal) {
      returnFocus = options.returnTo || (drawer.contains(document.activeElement) ? toggle : document.activeElement);
      if (!drawer.contains(document.activeElement) && toggle) toggle.focus();
    } else if (!open && options.restore !== false) {
      var back = returnFocus && document.contains(returnFocus) && !returnFocus.inert ? returnFocus : toggle;
      returnFocus = null;
      if (back && (drawer.contains(document.activeElement) || document.activeElement === document.body)) back.focus();
    }
  }
  // Wider than the drawer breakpoint the lane sits beside the conversation: nothing is modal.
  window.matchMedia(DRAWER_MEDIA).addEventListener("change", function (event) {
    var drawer = document.getElementById("lane-drawer");
    if (drawer) setInert(drawer, event.matches && drawer.dataset.open === "true");
  });
  document.addEventListener("DOMContentLoaded", function () {
    var drawer = document.getElementById("lane-drawer");
    if (drawer && drawer.dataset.open === "true") setDrawer(true, { returnTo: document.activeElement });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT" || target.isContentEditable);
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = target && target.closest ? target.closest("form") : null;
      form = form || currentForm();
      if (!form) return;
      event.preventDefault();
      var send = form.querySelector("[data-send]") || form.querySelector("button[type=submit]");
      if (send && send.disabled) return;
      if (form.requestSubmit) { form.requestSubmit(send); } else if (send) { send.click(); }
      return;
    }
    if (event.key === "?" && !typing) {
      var dialog = document.getElementById("shortcuts");
      if (dialog && dialog.showModal && !dialog.open) { event.preventDefault(); dialog.showModal(); }
    }
    if (event.key === "Escape" && window.matchMedia(DRAWER_MEDIA).matches) {
      var drawer = document.getElementById("lane-drawer");
      if (drawer && drawer.dataset.open === "true") setDrawer(false);
    }
  });

  // The lane is a bottom drawer below 1200 px; the handle opens and closes it, and a tap on the
  // page above it closes it.
  document.addEventListener("click", function (event) {
    var drawer = document.getElementById("lane-drawer");
    if (!drawer || !event.target.closest) return;
    if (event.target.closest("[data-drawer-toggle]")) {
      var opening = drawer.dataset.open !== "true";
      // The handle stays where it is: closing from it leaves focus on it.
      setDrawer(opening, opening ? { returnTo: event.target.closest("[data-drawer-toggle]") } : {});
    } else if (drawer.dataset.open === "true" && !drawer.contains(event.target) && window.matchMedia(DRAWER_MEDIA).matches) {
      setDrawer(false);
    }
  });

  // After an answer: the drawer opens by itself once, when the first facts arrive (SPEC §11); new
  // questions and checks alone leave it as it was (on a phone it would cover the new step) and
  // flash its count instead. The new step is announced, and focus goes to its heading (the user's
  // own answer replaced what they were in; a background swap never moves focus).
  function textOf(selector) {
    var el = document.querySelector(selector);
    return el ? el.textContent.trim() : null;
  }
  var lastCount = null, lastFacts = null, lastStep = null;
  document.addEventListener("DOMContentLoaded", function () {
    lastCount = textOf("#lane-count");
    lastFacts = textOf("#lane-drawer [data-testid=fact-count]");
    var step = document.querySelector("[data-testid=current-step]");
    lastStep = step ? step.id : null;
  });
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50); // a change, even if the text repeats
  }
  // What the page showed just before a response's swap, kept on its request: a background poll
  // settling in between must not make this response's changes look old.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && !xhr.rfFactsBefore) xhr.rfFactsBefore = textOf("#lane-drawer [data-testid=fact-count]");
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var now = textOf("#lane-count");
    if (lastCount !== null && now !== lastCount) {
      var badge = document.getElementById("lane-count");
      badge.classList.remove("badge-changed");
      void badge.offsetWidth; // restart the animation
      badge.classList.add("badge-changed");
    }
    lastCount = now;
    // Only the user moves focus: only after the user's own answer (or retry) replaced the element
    // they were in, never after another region's swap (a background swap that took focus would
    // send what the user is typing elsewhere into it).
    var elt = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    // The busy AI's automatic retry is no action of the user's: it announces the step, focus stays.
    var trigger = event.detail && event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    var automatic = trigger && trigger.type === "rf:autoretry";
    var fromAnswer = elt && elt.closest && (elt.closest(".answer-form") || elt.closest("#sessions_app-turn-status"));
    var focusLost = !document.activeElement || document.activeElement === document.body;
    var step = document.querySelector("[data-testid=current-step]");
    var heading = step && step.querySelector(".turn-title");
    // The step answered is the one the form was in (still its ancestor once swapped out), not the
    // last one seen: a background poll (the bell) that settles between this answer's swap and its
    // settle has already seen the new step.
    var answered = fromAnswer && elt.closest("[data-testid=current-step]");
    var before = answered ? answered.id : lastStep;
    var xhr = event.detail && event.detail.xhr;
    if (fromAnswer && heading && step.id !== before && !(xhr && xhr.rfStepShown)) {
      if (xhr) xhr.rfStepShown = true; // once per answer, however many regions it settled
      announce(step.querySelector(".turn-label").textContent.trim() + ": " + heading.textContent.trim());
      if (focusLost && !automatic) heading.focus({ preventScroll: false });
    }
    lastStep = step ? step.id : null;
    var facts = textOf("#lane-drawer [data-testid=fact-count]");
    var drawer = document.getElementById("lane-drawer");
    var factsBefore = (xhr && xhr.rfFactsBefore) || lastFacts;
    if (fromAnswer && drawer && factsBefore === "0" && parseInt(facts, 10) > 0 && drawer.dataset.autoOpened !== "true") {
      drawer.dataset.autoOpened = "true";
      if (window.matchMedia(DRAWER_MEDIA).matches) {
        setDrawer(true, { returnTo: heading || document.activeElement });
        drawer.scrollTop = 0;
      }
    }
    lastFacts = facts;
    // The user's own action on the fix (a choice, the parameter form) replaced the card it was
    // in: focus goes to what that action opened — a field to correct, the parameter form, the
    // script to copy — never after a swap the user did not ask for.
    var fromFix = elt && elt.closest && elt.closest("#sessions_app-fix-card, #sessions_app-fix-banner");
    var card = document.getElementById("sessions_app-fix-card");
    if (fromFix && focusLost && card) {
      var next = card.querySelector(".field-invalid input, .field-invalid select, .field-invalid textarea");
      var opened = card.querySelector(".generated [data-autofocus]") || card.querySelector("[data-autofocus]");
      if (!next && opened) next = opened.matches("form") ? opened.querySelector("input:not([type=hidden]), select, textarea, button") : opened;
      // Nothing to fill in: the banner it brought ("Did it work?"), else the card's own heading.
      if (!next) next = document.querySelector("#sessions_app-fix-banner [role=region]") || card.querySelector("#fix-h");
      if (next) next.focus();
    }
    // Dismissing the "Solved before" hints removed the button the user was on: focus goes to the
    // line that replaced them (it says what happened), not to the top of the page.
    var fromSimilar = elt && elt.closest && elt.closest("#sessions_app-similar");
    var dismissed = document.querySelector("#sessions_app-similar.similar-dismissed");
    if (fromSimilar && focusLost && dismissed) dismissed.focus();
  });
})();

// Previews (resolution note, escalation package): an open preview refreshes after a change
// (hx-trigger filter), unless the engineer has started editing the text that will be posted.
window.previewWanted = function (kind) {
  var region = document.getElementById("facts_app-preview-" + kind);
  var box = region && region.closest("details");
  if (!box || !box.open) return false;
  var text = region.querySelector("[data-preview-text]");
  return !(text && text.dataset.edited);
};
document.addEventListener("input", function (event) {
  if (!(event.target.matches && event.target.matches("[data-preview-text]"))) return;
  event.target.dataset.edited = "1";
  var flag = event.target.closest(".preview") && event.target.closest(".preview").querySelector("[data-edited-flag]");
  if (flag) flag.value = "1";  // the server then refuses to post it for another answer
});
// The resolution note is drafted with what the engineer writes under "How was it resolved?", and
// the escalation package with how they say the fix went, as they type or pick (the preview waits
// for half a second without typing: one draft per pause, not per key).
// A draft that came back while the engineer kept typing was made from older input, and the swap
// dropped the refresh that was waiting on the old region: ask again.
function previewInput(kind) {
  if (kind === "resolution_note") {
    var summary = document.getElementById("id_summary");
    return summary ? summary.value : "";
  }
  var form = document.getElementById("escalate-form");
  var picked = form && form.querySelector(".intercept input[type=radio]:checked");
  if (!picked) return "";
  var note = form.querySelector("[name=intercept_note]");
  return picked.value + "|" + words(note ? note.value : "");  // as the server writes it
}
function words(text) { return text.trim().split(/\s+/).filter(Boolean).join(" "); }
document.addEventListener("htmx:afterSettle", function (event) {
  var region = event.target;
  if (!region.id || region.id.indexOf("facts_app-preview-") !== 0 || !region.hasAttribute("data-drafted-from")) return;
  if (words(region.getAttribute("data-drafted-from")) !== words(previewInput(region.dataset.kind))) {
    htmx.trigger(document.body, "state-changed");
  }
});
document.addEventListener("input", function (event) {
  var target = event.target;
  var told = target.id === "id_summary" || (target.closest && target.closest("#escalate-form .intercept"));
  if (told && window.htmx) htmx.trigger(document.body, "state-changed");
});

