// Small, page-wide behaviour. Everything works without it; it only smooths the edges.
(function () {
  "use strict";

  // Toasts (Django messages) fade out after a few seconds.
  function dismissToasts(root) {
    (root || document).querySelectorAll(".toast:not([data-sticky])").forEach(function (toast) {
      setTimeout(function () {
        toast.classList.add("leaving");
        setTimeout(function () { toast.remove(); }, 450);
      }, 5000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    dismissToasts(document);
    // A form that came back with errors: put the cursor in the first field to fix.
    var invalid = document.querySelector(".field-invalid input, .field-invalid textarea, .field-invalid select");
    if (invalid && (!document.activeElement || document.activeElement === document.body)) { invalid.focus(); }
  });

  // The user menu is a <details>: close it on Escape or on a click anywhere else.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });

  // A server-sent toast: HX-Trigger: {"toast": {"message": "...", "level": "success"}}
  document.body && document.body.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (detail.level || "info");
    toast.setAttribute("role", "status");
    toast.textContent = detail.message || "";
    document.getElementById("toasts").appendChild(toast);
    dismissToasts(toast.parentNode);
  });

  // htmx swaps 2xx only; our error partials come back as 200 with HX-Error-Status. A response
  // that keeps its error status (a 404, a 403, a 500) is not swapped: its message becomes a toast.
  // (DOMParser makes an inert document: nothing in the response runs.)
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var said = doc.querySelector("[role=alert] p");
    var message = said ? said.textContent.trim() : "That did not work (" + xhr.status + "). Reload the page and try again.";
    document.body.dispatchEvent(new CustomEvent("toast", { detail: { message: message, level: "error" } }));
  });
  // A network failure (server down) gets a toast instead of silence.
  document.addEventListener("htmx:sendError", function () {
    document.body.dispatchEvent(new CustomEvent("toast", { detail: { message: "Could not reach the server. Check your connection and try again.", level: "error" } }));
  });
})();

// Copy buttons: <button data-copy="#selector">.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  var text = source.tagName === "TEXTAREA" ? source.value : source.textContent;
  navigator.clipboard.writeText(text).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});

// The AI was busy (issue 17): what the user entered is saved, and the region's retry form
// ([data-retry-region] form[data-auto-retry]) is sent by itself when the countdown the server gave
// runs out (event "rf:autoretry"; marked data-auto-fired, so no page moves focus for it). The
// retry button stays, for asking sooner.
(function () {
  function start(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-countdown]:not([data-counting])").forEach(function (counter) {
      counter.setAttribute("data-counting", "1");
      var left = parseInt(counter.getAttribute("data-countdown"), 10) || 1;
      var timer = setInterval(function () {
        if (!counter.isConnected) { clearInterval(timer); return; }
        left -= 1;
        counter.textContent = String(Math.max(left, 0));
        if (left > 0) return;
        clearInterval(timer);
        var region = counter.closest("[data-retry-region]");
        var form = region && region.querySelector("form[data-auto-retry]");
        if (!form || !window.htmx) return;
        form.dataset.autoFired = "1";
        window.htmx.trigger(form, "rf:autoretry");
      }, 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (event) { start(event.detail && event.detail.elt); });
})();
