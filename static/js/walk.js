// The L1 walk page on a flaky phone network. Everything works without it (plain forms); it adds:
// - an answer tapped while offline is kept on the page (and in localStorage, so a reload or a
//   closed tab keeps it) and sent when the connection returns; the server records it once
//   whatever arrives twice. It is dropped only when the server has answered it, or refused it
//   for good (then the page says why); a session that ran out keeps it until the tech signs in;
// - ad-hoc notes typed offline are kept the same way and saved when the connection returns;
// - what the tech is typing in Resolve or Escalate survives the step card being redrawn;
// - busy notes on the intake's plain forms, so every wait is visible;
// - focus to the new step after the tech's own answer (never after a background swap).
(function () {
  "use strict";

  var PENDING = "l1-walk-pending:";
  var NOTES = "l1-walk-notes:";
  var lastSubmit = null;
  var retryTimer = null;
  var retryDelay = 5000;
  var sending = false;

  function region() { return document.getElementById("l1_app-walk"); }
  function walkId() { var r = region(); return r ? r.getAttribute("data-walk") : null; }
  function announce(text) {
    var a = document.getElementById("announcer");
    if (a) { a.textContent = ""; setTimeout(function () { a.textContent = text; }, 50); }
  }
  function load(prefix) {
    var id = walkId();
    if (!id) { return null; }
    try { return JSON.parse(localStorage.getItem(prefix + id) || "null"); } catch (e) { return null; }
  }
  function store(prefix, value) {
    var id = walkId();
    if (!id) { return; }
    if (value) { localStorage.setItem(prefix + id, JSON.stringify(value)); } else { localStorage.removeItem(prefix + id); }
  }
  function csrfHeader() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }
  function post(url, body) {
    // The token is this page's (a stored one may be stale after signing in again). A redirect is
    // not followed: it means the session ran out, and the login page is not an answer.
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true", "X-CSRFToken": csrfHeader() }
    });
  }
  function signedOut(response) { return response.type === "opaqueredirect" || response.status === 403; }

  // --- an answer tapped offline -------------------------------------------------------------------

  function showPending(message) {
    var p = load(PENDING);
    var note = document.querySelector("[data-offline-note]");
    if (!note) { return; }
    if (!p) { note.hidden = true; return; }
    note.textContent = message || ("Not sent yet: “" + p.label + "” will be sent when you're back online.");
    note.hidden = false;
    document.querySelectorAll("[data-answer-form] button").forEach(function (b) { b.disabled = true; });
  }

  function sendPending() {
    var p = load(PENDING);
    if (!p || sending || !navigator.onLine) { return; }
    sending = true;
    post(p.url, p.body).then(function (response) {
      if (signedOut(response)) {
        showPending("Not sent yet: “" + p.label + "” will be sent when you sign in again.");
        throw new Error("signed out");
      }
      if (response.status >= 500) { throw new Error("server"); }  // kept: retried with a longer wait
      return response.text().then(function (html) { return { status: response.status, html: html }; });
    }).then(function (answer) {
      store(PENDING, null);
      retryDelay = 5000;
      if (answer.status >= 400 || answer.html.indexOf('id="l1_app-walk"') < 0) {
        // Refused for good (the walk is gone, or finished): say so and let the tech go on.
        var note = document.querySelector("[data-offline-note]");
        if (note) { note.textContent = "“" + p.label + "” could not be sent: reload the page to see where the walk stands."; note.hidden = false; }
        document.querySelectorAll("[data-answer-form] button").forEach(function (b) { b.disabled = false; });
        return;
      }
      // A replay is not the tech's tap (no request of theirs): focus stays where it is.
      htmx.swap(region(), answer.html, { swapStyle: "outerHTML" });
      announce("Back online: your answer “" + p.label + "” was sent.");
    }).catch(function () {
      retryDelay = Math.min(retryDelay * 2, 60000);
    }).finally(function () { sending = false; scheduleRetry(); });
  }

  function scheduleRetry() {
    if (retryTimer || !(load(PENDING) || load(NOTES))) { return; }
    retryTimer = setTimeout(function () {
      retryTimer = null;
      sendPending();
      sendNotes();
    }, retryDelay);
  }

  // Remember what an answer form sends (the tapped button included) before htmx sends it.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-answer-form]");
    if (!form) { return; }
    var data = new FormData(form, event.submitter || undefined);
    data.delete("csrfmiddlewaretoken");
    lastSubmit = {
      url: form.getAttribute("action"),
      body: new URLSearchParams(data).toString(),
      label: event.submitter ? event.submitter.textContent.trim() : ""
    };
  }, true);

  // --- notes typed offline --------------------------------------------------------------------------

  function notesBox() { return document.getElementById("walk-notes"); }
  function notesStatus(text) {
    var s = document.getElementById("notes-status");
    if (s) { s.textContent = text; }
  }
  function sendNotes() {
    var kept = load(NOTES);
    if (!kept || !navigator.onLine) { return; }
    var body = new URLSearchParams({ notes: kept.notes }).toString();
    post(kept.url, body).then(function (response) {
      if (signedOut(response)) { notesStatus("Not saved yet: sign in again to save your notes."); throw new Error("signed out"); }
      if (response.status >= 500) { throw new Error("server"); }
      return response.text();
    }).then(function (html) {
      var box = notesBox();
      if (!box || box.value === kept.notes) { store(NOTES, null); }
      var status = document.getElementById("notes-status");
      if (status) { htmx.swap(status, html, { swapStyle: "outerHTML" }); }
    }).catch(function () { scheduleRetry(); });
  }

  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.closest) { return; }
    if (elt.closest("[data-answer-form]") && lastSubmit) {
      event.stopPropagation();  // the page says it here, not in a generic toast
      store(PENDING, lastSubmit);
      showPending();
      scheduleRetry();
    } else if (elt.closest("[data-notes-form]") && notesBox()) {
      event.stopPropagation();
      store(NOTES, { url: elt.closest("[data-notes-form]").getAttribute("action"), notes: notesBox().value });
      notesStatus("Not saved yet: your notes will save when you're back online.");
      scheduleRetry();
    }
  }, true);

  // --- what the tech is typing survives a redraw of the walk ------------------------------------

  var typing = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    var r = region();
    typing = {};
    if (!r || event.detail.target !== r) { return; }
    r.querySelectorAll(".walk-finish textarea, .walk-finish select").forEach(function (field) {
      var changed = field.tagName === "SELECT" ? !field.options[field.selectedIndex].defaultSelected : field.value !== field.defaultValue;
      if (changed && field.id) { typing[field.id] = field.value; }
    });
  });
  function restoreTyping() {
    Object.keys(typing).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field || !region() || !region().contains(field)) { return; }
      field.value = typing[id];
      var details = field.closest("details");
      if (details) { details.open = true; }
    });
    typing = {};
  }

  // --- focus: only the tech's own action moves it --------------------------------------------------

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    // Kept on the request itself: a background request (the bell's poll) that starts before this
    // one settles must not make the tech's own tap look like a background swap.
    var asked = !!(elt && elt.tagName === "FORM" && elt.closest("#l1_app-walk") && !elt.closest("[data-notes-form]")
      && !elt.dataset.autoFired);  // the busy AI's automatic retry is no tap of the tech's
    if (asked && event.detail.xhr) { event.detail.xhr.rfUserAsked = true; }
    if (elt && elt.closest && elt.closest(".walk-finish")) { typing = {}; }  // its own answer redraws it
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var r = region();
    if (!r || (!r.contains(event.detail.elt) && event.detail.elt !== r)) { return; }
    restoreTyping();
    var xhr = event.detail.xhr;
    if (xhr && xhr.rfUserAsked) {
      if (!xhr.rfFocused) {
        xhr.rfFocused = true;  // once per tap
        var heading = document.getElementById("walk-step-heading") || document.getElementById("walk-done-heading");
        if (heading && !r.querySelector(".alert-error")) { heading.focus(); }
      }
    } else {
      var next = document.getElementById("walk-step-heading");
      if (next) { announce("Next step: " + next.textContent.trim()); }
    }
    showPending();
  });

  // --- the intake's ticket: only the field the chosen kind needs (all of them without JS) --------

  function showTicketFields(form) {
    var chosen = form.querySelector("input[name=ticket_kind]:checked");
    form.querySelectorAll("[data-ticket]").forEach(function (box) {
      box.hidden = !chosen || box.getAttribute("data-ticket") !== chosen.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "ticket_kind" && event.target.form) { showTicketFields(event.target.form); }
  });

  window.addEventListener("online", function () { retryDelay = 5000; sendPending(); sendNotes(); });
  document.addEventListener("DOMContentLoaded", function () {
    showPending();
    var kept = load(NOTES);
    if (kept && notesBox()) { notesBox().value = kept.notes; notesStatus("Not saved yet: saving your notes…"); }
    if (load(PENDING)) { sendPending(); }
    if (kept) { sendNotes(); }
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
