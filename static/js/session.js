// The session page: keyboard shortcuts, the task drawer below 1200 px, and a guard against
// leaving with an unsent answer. The page works without this file.
(function () {
  "use strict";

  function currentForm() { return document.querySelector(".answer-form"); }

  function hasUnsentInput() {
    var fields = document.querySelectorAll("[data-guard-unsent] textarea, [data-guard-unsent] input[type=text], .lane-answer input[type=text]");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value.trim() !== "") return true; }
    return false;
  }

  var submitting = false;
  document.addEventListener("submit", function () { submitting = true; setTimeout(function () { submitting = false; }, 0); }, true);
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && hasUnsentInput()) { event.preventDefault(); event.returnValue = ""; }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.isContentEditable);
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = target && target.closest ? target.closest("form") : null;
      form = form || currentForm();
      if (!form) return;
      event.preventDefault();
      var send = form.querySelector("[data-send]") || form.querySelector("button[type=submit]");
      if (form.requestSubmit) { form.requestSubmit(send); } else if (send) { send.click(); }
      return;
    }
    if (event.key === "?" && !typing) {
      var dialog = document.getElementById("shortcuts");
      if (dialog && dialog.showModal && !dialog.open) { event.preventDefault(); dialog.showModal(); }
    }
    if (event.key === "Escape") {
      var drawer = document.getElementById("lane-drawer");
      if (drawer && window.matchMedia("(max-width: 1199px)").matches) drawer.dataset.open = "false";
    }
  });

  // The lane is a bottom drawer below 1200 px; the handle opens and closes it.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-drawer-toggle]");
    if (!toggle) return;
    var drawer = document.getElementById("lane-drawer");
    var open = drawer.dataset.open !== "true";
    drawer.dataset.open = open ? "true" : "false";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // The lane opens by itself once the AI has put something in it.
  document.body.addEventListener("htmx:afterSettle", function () {
    var count = document.getElementById("lane-count");
    var drawer = document.getElementById("lane-drawer");
    if (count && drawer && parseInt(count.textContent, 10) > 0 && drawer.dataset.autoOpened !== "true") {
      drawer.dataset.open = "true";
      drawer.dataset.autoOpened = "true";
    }
    var text = document.getElementById("answer-text");
    if (text && !text.value) text.focus({ preventScroll: true });
  });
})();
