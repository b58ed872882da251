// The admin page's live part: round states and progress, refreshed every 5 s from
// /admin/live (same-origin, the session cookie; no token). Everything else is server-rendered,
// so the page works without this script. Text is set with textContent, never as HTML.
(function () {
  "use strict";
  var PERIOD_MS = 5000;
  function refresh() {
    if (!document.querySelector("[data-round-status]")) return;
    fetch("/admin/live", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        document.querySelectorAll("[data-round-status]").forEach(function (el) {
          var round = data.rounds[el.getAttribute("data-round-status")];
          if (round) el.textContent = round.status;
        });
        document.querySelectorAll("[data-round-progress]").forEach(function (el) {
          var round = data.rounds[el.getAttribute("data-round-progress")];
          if (round) el.textContent = round.status === "running" ? round.progress : "";
        });
      })
      .catch(function () { /* offline for a moment: keep what is shown */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    setInterval(refresh, PERIOD_MS);
  });
})();
