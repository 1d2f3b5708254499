// The escalation queue: each poll that brings a change morphs the list in place (focus stays where
// it was); this tells a screen reader only what is new, never re-reading the list.
(function () {
  "use strict";
  var known = null;
  function ids() {
    return Array.prototype.map.call(document.querySelectorAll("#sessions_app-queue [data-session]"), function (card) {
      return card.dataset.session;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { known = ids(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.target || event.target.id !== "sessions_app-queue" || known === null) return;
    var now = ids();
    var fresh = now.filter(function (id) { return known.indexOf(id) === -1; }).length;
    known = now;
    if (!fresh) return;
    var region = document.getElementById("announcer");
    if (region) region.textContent = fresh === 1 ? "1 new session awaiting pickup" : fresh + " new sessions awaiting pickup";
  });
})();
