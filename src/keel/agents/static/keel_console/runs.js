// The runs list: statuses update live by reading the runs API (the session signs the
// request; reading needs no CSRF token). New runs, from another tab, join the top.
"use strict";

(function () {
  const table = document.getElementById("runs");
  if (!table) {
    return;
  }
  const api = table.dataset.runsApi;
  const runUrl = table.dataset.runUrl;
  const body = table.querySelector("tbody");
  const INTERVAL_MS = 2000;

  function row(run) {
    const tr = document.createElement("tr");
    tr.dataset.runId = run.id;
    const link = document.createElement("a");
    link.href = runUrl + run.id + "/";
    link.textContent = run.id.slice(0, 8) + "…";
    const badge = document.createElement("span");
    badge.className = "badge";
    const when = document.createElement("time");
    when.dateTime = run.created_at;
    when.textContent = run.created_at.replace("T", " ").slice(0, 19);
    [link, document.createTextNode(run.agent), badge, when].forEach(function (content) {
      const cell = document.createElement("td");
      cell.append(content);
      tr.append(cell);
    });
    return tr;
  }

  function update(runs) {
    runs
      .slice()
      .reverse()
      .forEach(function (run) {
        let tr = body.querySelector('tr[data-run-id="' + run.id + '"]');
        if (!tr) {
          tr = row(run);
          body.prepend(tr);
          const empty = document.getElementById("no-runs");
          if (empty) {
            empty.remove();
          }
        }
        const badge = tr.querySelector(".badge");
        if (badge.dataset.status !== run.status) {
          badge.dataset.status = run.status;
          badge.textContent = run.status;
        }
      });
  }

  function poll() {
    fetch(api, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (page) {
        if (page) {
          update(page.results);
        }
      })
      .catch(function () {})
      .finally(function () {
        window.setTimeout(poll, INTERVAL_MS);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
