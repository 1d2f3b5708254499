// The L1 walk page on a flaky phone network. Everything works without it (plain forms); it adds:
// - an answer tapped while offline is kept on the page (and in localStorage, so a reload keeps it)
//   and sent when the connection returns; the server records it once whatever arrives twice;
// - busy notes on the intake's plain forms, so every wait is visible;
// - focus to the new step after the tech's own answer (never after a background swap).
(function () {
  "use strict";

  var PENDING = "l1-walk-pending:";
  var lastSubmit = null;
  var retryTimer = null;

  function region() { return document.getElementById("l1_app-walk"); }
  function walkId() { var r = region(); return r ? r.getAttribute("data-walk") : null; }
  function announce(text) {
    var a = document.getElementById("announcer");
    if (a) { a.textContent = ""; setTimeout(function () { a.textContent = text; }, 50); }
  }

  function pending() {
    var id = walkId();
    if (!id) { return null; }
    try { return JSON.parse(localStorage.getItem(PENDING + id) || "null"); } catch (e) { return null; }
  }
  function setPending(value) {
    var id = walkId();
    if (!id) { return; }
    if (value) { localStorage.setItem(PENDING + id, JSON.stringify(value)); } else { localStorage.removeItem(PENDING + id); }
  }

  function showPending() {
    var p = pending();
    var note = document.querySelector("[data-offline-note]");
    if (!note) { return; }
    if (!p) { note.hidden = true; return; }
    note.textContent = "Not sent yet: “" + p.label + "” will be sent when you're back online.";
    note.hidden = false;
    document.querySelectorAll("[data-answer-form] button").forEach(function (b) { b.disabled = true; });
  }

  function csrfHeader() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function sendPending() {
    var p = pending();
    if (!p || !navigator.onLine) { return; }
    fetch(p.url, {
      method: "POST",
      body: p.body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true", "X-CSRFToken": csrfHeader() }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      setPending(null);
      htmx.swap(region(), html, { swapStyle: "outerHTML" });
      announce("Back online: your answer “" + p.label + "” was sent.");
    }).catch(function () { /* still offline or the server is away: the next retry sends it */ });
  }

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = setInterval(function () {
      if (!pending()) { clearInterval(retryTimer); retryTimer = null; return; }
      sendPending();
    }, 5000);
  }

  // Remember what an answer form sends (the tapped button included) before htmx sends it.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-answer-form]");
    if (!form) { return; }
    var data = new FormData(form, event.submitter || undefined);
    lastSubmit = {
      url: form.getAttribute("action"),
      body: new URLSearchParams(data).toString(),
      label: event.submitter ? event.submitter.textContent.trim() : ""
    };
  }, true);

  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.closest || !elt.closest("[data-answer-form]") || !lastSubmit) { return; }
    event.stopPropagation();  // the page says it here, not in a generic toast
    setPending(lastSubmit);
    showPending();
    scheduleRetry();
  }, true);

  // The tech's own answer, resolve or escalate: focus moves to what came next. A swap nobody
  // asked for (the next step arriving on its own, a replay after reconnecting) moves nothing.
  var userAsked = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    userAsked = !!(elt && elt.tagName === "FORM" && elt.closest("#l1_app-walk"));
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!region() || !region().contains(event.detail.elt) && event.detail.elt !== region()) { return; }
    if (userAsked) {
      userAsked = false;
      var heading = document.getElementById("walk-step-heading") || document.getElementById("walk-done-heading");
      var alert = region().querySelector(".alert-error");
      var target = alert ? null : heading;
      if (target) { target.focus(); }
    } else {
      var next = document.getElementById("walk-step-heading");
      if (next) { announce("Next step: " + next.textContent.trim()); }
    }
    showPending();
  });

  // The intake's ticket: only the field the chosen kind needs is shown (all of them without JS).
  function showTicketFields(form) {
    var chosen = form.querySelector("input[name=ticket_kind]:checked");
    form.querySelectorAll("[data-ticket]").forEach(function (box) {
      box.hidden = !chosen || box.getAttribute("data-ticket") !== chosen.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "ticket_kind" && event.target.form) { showTicketFields(event.target.form); }
  });

  window.addEventListener("online", sendPending);
  document.addEventListener("DOMContentLoaded", function () {
    showPending();
    if (pending()) { sendPending(); scheduleRetry(); }
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("input[name=ticket_kind]")) { showTicketFields(form); }
    });
    // Plain forms (the intake): say what is happening while the page waits.
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var note = form.querySelector(".busy-note");
        if (note) { note.hidden = false; }
        setTimeout(function () { form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; }); }, 0);
      });
    });
  });
})();
