// The History, Data, Events and Bootstrap views of the sidebar page, served as /ui/views.js.
"use strict";

// ---- History ------------------------------------------------------------------------------
const HISTORY_PAGE_SIZE = 20;
async function loadHistory() {
  const query = new URLSearchParams({ page: state.historyPage, pageSize: HISTORY_PAGE_SIZE });
  if ($("history-operation").value.trim()) query.set("operation", $("history-operation").value.trim());
  if ($("history-outcome").value) query.set("outcome", $("history-outcome").value);
  const page = await api("/api/calls?" + query);
  state.historyItems = page.items;
  const body = $("history-table").tBodies[0];
  body.replaceChildren();
  for (const call of page.items) {
    const open = el("button", { type: "button", class: "link", onclick: () => showPastCall(call) }, call.operationId);
    body.append(el("tr", {}, el("td", {}, when(call.createdAt)), el("td", {}, call.userId || ""),
      el("td", {}, el("span", { class: "method " + call.method }, call.method), " ", open),
      el("td", { class: call.status === "succeeded" ? "ok" : call.status === "failed" ? "error" : "" },
        call.status + (call.upstreamStatus ? " · " + call.upstreamStatus : "")),
      el("td", {}, call.durationMs != null ? call.durationMs + " ms" : "")));
  }
  if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "No calls yet.")));
  $("history-page").textContent = "Page " + state.historyPage;
  $("history-prev").disabled = state.historyPage <= 1;
  $("history-next").disabled = page.items.length < HISTORY_PAGE_SIZE;
}

// A stored call's query is a list of [name, value] pairs; a repeated name becomes a list.
function queryObjectOf(stored) {
  if (!Array.isArray(stored)) return stored || {};
  const query = {};
  for (const [name, value] of stored) {
    if (!(name in query)) query[name] = value;
    else query[name] = [].concat(query[name], value);
  }
  return query;
}

function showPastCall(call) {
  state.historyCall = call;
  $("history-detail").hidden = false;
  $("history-request").textContent = call.method + " " + call.path +
    (Object.keys(queryObjectOf(call.query)).length ? "\nquery: " + JSON.stringify(queryObjectOf(call.query)) : "") +
    (call.body != null ? "\nbody: " + JSON.stringify(call.body, null, 2) : "");
  $("history-status").textContent = statusLine(call);
  showTree($("history-tree"), call.responseBody);
  $("history-detail").scrollIntoView({ block: "nearest" });
}

// The path parameters of `path` under `template`, e.g. {projectId} in /projects/{projectId}.
function pathParamsOf(template, path) {
  const names = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_, name) => { names.push(name); return "([^/]+)"; });
  const match = new RegExp("^" + pattern + "$").exec(path);
  const params = {};
  if (match) names.forEach((name, i) => { params[name] = decodeURIComponent(match[i + 1]); });
  return params;
}

$("history-rerun").addEventListener("click", () => {
  const call = state.historyCall;
  const op = state.groups.flatMap((g) => g.operations).find((o) => o.operationId === call.operationId);
  if (!op) { showBanner("That operation is no longer in the catalog."); return; }
  selectTab("explorer");
  chooseOperation(op, { pathParams: pathParamsOf(op.path, call.path), query: queryObjectOf(call.query), body: call.body == null ? undefined : call.body });
  $("send").focus();
});
$("history-filter").addEventListener("submit", (event) => { event.preventDefault(); state.historyPage = 1; loadHistory().catch(report); });
$("history-prev").addEventListener("click", () => { state.historyPage -= 1; loadHistory().catch(report); });
$("history-next").addEventListener("click", () => { state.historyPage += 1; loadHistory().catch(report); });

// ---- Data ---------------------------------------------------------------------------------
async function loadData() {
  const query = new URLSearchParams({ page: state.dataPage });
  if ($("data-kind").value) query.set("kind", $("data-kind").value);
  if ($("data-search").value.trim()) query.set("q", $("data-search").value.trim());
  const page = await api("/api/entities?" + query);
  const counts = $("data-counts");
  counts.replaceChildren();
  const chosen = $("data-kind").value;
  const select = $("data-kind");
  select.replaceChildren(el("option", { value: "" }, "All kinds"));
  for (const count of page.counts) {
    select.append(el("option", { value: count.kind }, count.kind));
    counts.append(el("button", { type: "button", class: "chip", "data-kind": count.kind,
      onclick: () => { $("data-kind").value = count.kind; state.dataPage = 1; loadData().catch(report); } },
    count.kind + ": ", el("strong", { class: "count" }, String(count.count)),
    count.deleted ? el("span", { class: "muted" }, " (+" + count.deleted + " deleted)") : null));
  }
  if (!page.counts.length) counts.append(el("p", { class: "muted" }, "Nothing stored yet: start a bootstrap, or wait for webhooks."));
  select.value = chosen;
  const body = $("data-table").tBodies[0];
  body.replaceChildren();
  for (const item of page.items) {
    const open = el("button", { type: "button", class: "link", onclick: () => showEntity(item).catch(report) }, item.name || "(no name)");
    body.append(el("tr", { class: item.deleted ? "gone" : "" }, el("td", {}, open), el("td", {}, item.kind),
      el("td", {}, el("code", {}, item.id)), el("td", {}, when(item.updatedAt)), el("td", {}, item.deleted ? "yes" : "")));
  }
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  $("data-page").textContent = "Page " + page.page + " of " + pages + " · " + page.total + " entities";
  $("data-prev").disabled = page.page <= 1;
  $("data-next").disabled = page.page >= pages;
}

async function showEntity(item) {
  const entity = await api("/api/entities/" + encodeURIComponent(item.kind) + "/" + encodeURIComponent(item.id));
  $("data-detail").hidden = false;
  $("data-detail-title").textContent = entity.kind + " · " + (entity.name || entity.id) +
    " · from " + entity.source + ", seen " + when(entity.observedAt);
  showTree($("data-tree"), entity.data);
  $("data-detail-title").focus();
  $("data-detail").scrollIntoView({ block: "start" });
}
$("data-filter").addEventListener("submit", (event) => { event.preventDefault(); state.dataPage = 1; loadData().catch(report); });
$("data-prev").addEventListener("click", () => { state.dataPage -= 1; loadData().catch(report); });
$("data-next").addEventListener("click", () => { state.dataPage += 1; loadData().catch(report); });

// ---- Events -------------------------------------------------------------------------------
async function loadEvents() {
  const events = await api("/api/events");
  $("events-counts").replaceChildren(...(events.last24h.length ? events.last24h.map((c) =>
    el("span", { class: "chip", "data-type": c.type }, c.type + ": ", el("strong", {}, String(c.count))))
    : [el("p", { class: "muted" }, "No webhook in the last 24 hours.")]));
  $("events-never").textContent = events.neverHeard.length ? events.neverHeard.join(", ") : "Every subscribed webhook has been heard from.";
  const body = $("events-table").tBodies[0];
  body.replaceChildren();
  for (const event of events.latest) {
    body.append(el("tr", { "data-type": event.eventType }, el("td", {}, event.eventType), el("td", {}, when(event.acceptedAt)),
      el("td", { class: event.outcome === "applied" ? "ok" : event.outcome === "rejected" ? "error" : "" },
        event.outcome + (event.reason ? " (" + event.reason + ")" : "")),
      el("td", {}, event.entityKind ? event.entityKind + " " + (event.entityId || "") : "")));
  }
  if (!events.latest.length) body.append(el("tr", {}, el("td", { colspan: "4", class: "muted" }, "No webhook received yet.")));
  await loadCoverage();
}
$("events-refresh").addEventListener("click", () => loadEvents().catch(report));

// ---- Coverage: which event types arrive by webhook, which are left to reconciliation ---------
const hours = (secs) => secs >= 172800 && secs % 86400 === 0 ? (secs / 86400) + " days"
  : secs % 3600 === 0 ? (secs / 3600) + " h" : Math.round(secs / 60) + " min";
function keptBy(line) {
  switch (line.state) {
    case "manifest": return "webhook (manifest)";
    case "registered": return "webhook (registered)";
    case "registration_pending": return "webhook, registration pending";
    case "registration_failed": return "registration failed: " + (line.reason || "unknown") +
      (line.nextAttemptAt ? " · next try " + when(line.nextAttemptAt) : "");
    default: return "reconciliation every " + hours(line.intervalSecs);
  }
}
async function loadCoverage() {
  const coverage = await api("/api/coverage");
  const pass = coverage.reconciliation.lastPass;
  $("coverage-summary").textContent = "Reconciliation every " + hours(coverage.reconciliation.intervalSecs) +
    (pass ? " · last pass " + pass.status.replace(/_/g, " ") + ", " + when(pass.createdAt) +
      " (" + pass.changes.reduce((n, c) => n + c.added + c.updated + c.deleted, 0) + " changes)" : " · no pass yet") +
    (coverage.reconciliation.nextScheduledAt ? " · next " + when(coverage.reconciliation.nextScheduledAt) : "");
  const allowed = Boolean(state.me && state.me.may.bootstrap);
  $("reconcile-start").disabled = !allowed || Boolean(pass && pass.status === "running");
  $("reconcile-denied").hidden = allowed;
  $("reconcile-denied").textContent = allowed ? "" : "Reconciling: " + (state.me && state.me.deniedReason);
  const body = $("coverage-table").tBodies[0];
  body.replaceChildren(...coverage.events.map((line) => el("tr", { "data-event": line.event, "data-state": line.state },
    el("td", {}, line.event), el("td", {}, line.kind),
    el("td", { class: line.state === "registration_failed" ? "error" : "" }, keptBy(line)))));
}
$("reconcile-start").addEventListener("click", async () => {
  try { await api("/api/reconcile", { method: "POST" }); await loadCoverage(); } catch (error) { report(error); }
});

// ---- Bootstrap ----------------------------------------------------------------------------
function showJob(job) {
  const running = job && job.status === "running";
  $("bootstrap-state").textContent = job
    ? "Status: " + job.status.replace(/_/g, " ") + " · started " + when(job.created_at) + " by " + job.requested_by +
      (job.finished_at ? " · finished " + when(job.finished_at) : "")
    : "No bootstrap has run in this workspace yet.";
  $("bootstrap-state").dataset.status = job ? job.status : "none";
  $("bootstrap-state").dataset.job = job ? job.id : "";
  const allowed = Boolean(state.me && state.me.may.bootstrap);
  $("bootstrap-start").disabled = !allowed || running;
  $("bootstrap-cancel").disabled = !allowed || !running;
  $("bootstrap-denied").hidden = allowed;
  $("bootstrap-denied").textContent = allowed ? "" : "Starting and cancelling a bootstrap: " + (state.me && state.me.deniedReason);
  const body = $("bootstrap-table").tBodies[0];
  body.replaceChildren();
  for (const kind of (job && job.progress) || []) {
    const done = kind.units_done + kind.units_failed;
    const label = kind.kind.replace(/_/g, " ");
    body.append(el("tr", { "data-kind": kind.kind }, el("td", { class: "kind" }, label),
      el("td", {}, el("span", { class: "units" },
        el("progress", { max: String(Math.max(kind.units, 1)), value: String(done), "aria-label": label + ": units done" }),
        el("span", {}, done + "/" + kind.units))),
      el("td", {}, String(kind.pages)), el("td", {}, String(kind.items)),
      el("td", { class: kind.errors.length ? "error" : "" }, kind.errors.length ? kind.errors.join("; ") : "0")));
  }
  clearTimeout(state.bootstrapTimer);
  if (running) state.bootstrapTimer = setTimeout(() => loadBootstrap().catch(report), 1000);
}

async function loadBootstrap() {
  try {
    showJob((await api("/api/bootstrap")).job);
  } catch (error) {
    if (error.status === 404) showJob(null); else throw error;
  }
}
$("bootstrap-start").addEventListener("click", async () => {
  try { showJob((await api("/api/bootstrap", { method: "POST" })).job); } catch (error) { report(error); }
});
$("bootstrap-cancel").addEventListener("click", async () => {
  try { showJob((await api("/api/bootstrap", { method: "DELETE" })).job); } catch (error) { report(error); }
});

