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

  function setDrawer(open) {
    var drawer = document.getElementById("lane-drawer");
    if (!drawer) return;
    drawer.dataset.open = open ? "true" : "false";
    var toggle = drawer.querySelector("[data-drawer-toggle]");
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

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
      if (drawer && drawer.dataset.open === "true") {
        setDrawer(false);
        drawer.querySelector("[data-drawer-toggle]").focus();
      }
    }
  });

  // The lane is a bottom drawer below 1200 px; the handle opens and closes it, and a tap on the
  // page above it closes it.
  document.addEventListener("click", function (event) {
    var drawer = document.getElementById("lane-drawer");
    if (!drawer || !event.target.closest) return;
    if (event.target.closest("[data-drawer-toggle]")) {
      setDrawer(drawer.dataset.open !== "true");
    } else if (drawer.dataset.open === "true" && !drawer.contains(event.target) && window.matchMedia(DRAWER_MEDIA).matches) {
      setDrawer(false);
    }
  });

  // After an answer: the drawer opens by itself once, when the first facts arrive (SPEC §11); new
  // questions and checks alone leave it as it was (on a phone it would cover the new step) and
  // flash its count instead. On a desk the cursor goes back to the answer box (not on touch
  // screens, where focusing would pop up the keyboard).
  function textOf(selector) {
    var el = document.querySelector(selector);
    return el ? el.textContent.trim() : null;
  }
  var lastCount = null, lastFacts = null;
  document.addEventListener("DOMContentLoaded", function () {
    lastCount = textOf("#lane-count");
    lastFacts = textOf("#lane-drawer [data-testid=fact-count]");
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
    var facts = textOf("#lane-drawer [data-testid=fact-count]");
    var drawer = document.getElementById("lane-drawer");
    if (drawer && lastFacts === "0" && parseInt(facts, 10) > 0 && drawer.dataset.autoOpened !== "true") {
      drawer.dataset.autoOpened = "true";
      if (window.matchMedia(DRAWER_MEDIA).matches) { setDrawer(true); drawer.scrollTop = 0; }
    }
    lastFacts = facts;
    // Only the user moves focus: the cursor goes back to the answer box only after the user's own
    // answer (or retry) replaced the element it was in, never after another region's swap (a
    // background swap that took focus would send what the user is typing elsewhere into it).
    var elt = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    var fromAnswer = elt && elt.closest && (elt.closest(".answer-form") || elt.closest("#sessions_app-turn-status"));
    var focusLost = !document.activeElement || document.activeElement === document.body;
    var text = document.getElementById("answer-text");
    if (fromAnswer && focusLost && text && !text.value && window.matchMedia("(hover: hover) and (pointer: fine)").matches) {
      text.focus({ preventScroll: true });
    }
    // The user's own action on the fix (a choice, the parameter form) replaced the card it was
    // in: focus goes to what that action opened — a field to correct, the parameter form, the
    // script to copy — never after a swap the user did not ask for.
    var fromFix = elt && elt.closest && elt.closest("#sessions_app-fix-card, #sessions_app-fix-banner");
    var card = document.getElementById("sessions_app-fix-card");
    if (fromFix && focusLost && card) {
      var next = card.querySelector(".field-invalid input, .field-invalid select, .field-invalid textarea");
      var opened = card.querySelector(".generated [data-autofocus]") || card.querySelector("[data-autofocus]");
      if (!next && opened) next = opened.matches("form") ? opened.querySelector("input:not([type=hidden]), select, textarea, button") : opened;
      if (next) next.focus();
    }
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
  if (event.target.matches && event.target.matches("[data-preview-text]")) event.target.dataset.edited = "1";
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
  return picked.value + "|" + (note ? note.value : "");
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
