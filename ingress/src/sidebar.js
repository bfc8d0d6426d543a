// The sidebar page's script, served as /ui/app.js (the page's CSP allows no inline script).
// Plain JavaScript, no build step and no dependency: the binary serves it as written.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  token: null, expiresAt: 0, me: null, groups: [], current: null, lastRequest: null, lastView: null,
  historyPage: 1, historyItems: [], historyCall: null, dataPage: 1, dataTotal: 0, bootstrapTimer: null,
};

// ---- Token life ---------------------------------------------------------------------------
// The user token arrives once in the query string. It is kept in memory only, sent only to
// this add-on's own API, and removed from the address bar so history and copies never hold it.
function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("auth_token");
  url.searchParams.delete("auth_token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
  return token;
}

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
  } catch (_) {
    return {};
  }
}

function adoptToken(token) {
  state.token = token;
  const claims = claimsOf(token);
  state.expiresAt = (claims.exp || 0) * 1000;
  applyTheme(claims.theme);
  $("banner").hidden = true;
  clearTimeout(state.expiryTimer);
  if (state.expiresAt) {
    state.expiryTimer = setTimeout(showExpired, Math.max(0, state.expiresAt - Date.now()));
  }
}

function showExpired() {
  const embedded = window.parent !== window;
  showBanner("Your session has expired (Clockify's sidebar tokens last 30 minutes). " +
    (embedded ? "Asking Clockify for a fresh one… if nothing changes, close and reopen API Studio from the sidebar."
      : "Reopen API Studio from the Clockify sidebar to get a fresh one."));
  if (embedded) window.parent.postMessage({ action: "refreshAddonToken" }, "*");
}

// Clockify answers `refreshAddonToken` with a message carrying the fresh token.
window.addEventListener("message", (event) => {
  if (event.source !== window.parent || window.parent === window) return;
  let data = event.data;
  if (typeof data === "string") { try { data = JSON.parse(data); } catch (_) { return; } }
  if (!data || (data.title !== "refreshAddonToken" && data.action !== "refreshAddonToken")) return;
  const fresh = data.body || data.token;
  if (typeof fresh === "string" && fresh.split(".").length === 3) adoptToken(fresh);
});

function showBanner(message) {
  $("banner").textContent = message;
  $("banner").hidden = false;
}

function applyTheme(theme) {
  if (theme) document.documentElement.classList.toggle("dark", theme === "DARK");
}

// ---- The API ------------------------------------------------------------------------------
async function api(path, options = {}) {
  if (state.expiresAt && Date.now() >= state.expiresAt) {
    showExpired();
    throw new Error("the session has expired");
  }
  const response = await fetch(path, {
    ...options,
    headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" },
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || ("HTTP " + response.status);
    if (response.status === 401 && /expired/.test(message)) showExpired();
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

// ---- Small DOM helpers --------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}
const when = (iso) => iso ? new Date(iso).toLocaleString() : "";
const isWrite = (op) => !["GET", "HEAD"].includes(op.method) && op.base !== "Reports";

async function copyText(text, button) {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (_) {
    const area = el("textarea", { class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand && document.execCommand("copy");
    area.remove();
    button.textContent = done ? "Copied" : "Copy failed: select the text instead";
  }
  setTimeout(() => { button.textContent = label; }, 1500);
}

// ---- JSON tree ----------------------------------------------------------------------------
function jsonTree(value, key) {
  const label = key == null ? null : el("span", { class: "key" }, key + ": ");
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const summary = el("summary", {}, label, el("span", { class: "muted" },
      Array.isArray(value) ? "[" + entries.length + "]" : "{" + entries.length + "}"));
    const list = el("div", { class: "children" });
    for (const [k, v] of entries) list.append(jsonTree(v, k));
    return el("details", { open: entries.length <= 50 }, summary, list);
  }
  const kind = value === null ? "null" : typeof value;
  return el("div", { class: "leaf" }, label, el("span", { class: "v-" + kind }, JSON.stringify(value)));
}

function showTree(container, value) {
  container.replaceChildren(jsonTree(value, null));
}

function searchTree(container, needle) {
  const text = needle.trim().toLowerCase();
  for (const leaf of container.querySelectorAll(".leaf, summary")) {
    const hit = text !== "" && leaf.textContent.toLowerCase().includes(text);
    leaf.classList.toggle("hit", hit);
    if (hit) for (let node = leaf.parentElement; node && node !== container; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
  }
}

// ---- Tabs ---------------------------------------------------------------------------------
const tabs = ["explorer", "history", "data", "events", "bootstrap"];
function selectTab(name, focus) {
  for (const tab of tabs) {
    const selected = tab === name;
    $("tab-" + tab).setAttribute("aria-selected", String(selected));
    $("tab-" + tab).tabIndex = selected ? 0 : -1;
    $("view-" + tab).hidden = !selected;
  }
  if (focus) $("tab-" + name).focus();
  const loaders = { history: loadHistory, data: loadData, events: loadEvents, bootstrap: loadBootstrap };
  if (loaders[name]) loaders[name]().catch(report);
}
tabs.forEach((name, index) => {
  $("tab-" + name).addEventListener("click", () => selectTab(name));
  $("tab-" + name).addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step) selectTab(tabs[(index + step + tabs.length) % tabs.length], true);
  });
});

function report(error) {
  showBanner(error.message);
}

// ---- Explorer -----------------------------------------------------------------------------
function renderCatalog() {
  const needle = $("op-search").value.trim().toLowerCase();
  const method = $("op-method").value;
  const root = $("catalog");
  root.replaceChildren();
  root.className = "catalog";
  let shown = 0;
  for (const group of state.groups) {
    const ops = group.operations.filter((op) => (!method || op.method === method) &&
      (!needle || (op.operationId + " " + op.summary + " " + op.path).toLowerCase().includes(needle)));
    if (!ops.length) continue;
    shown += ops.length;
    const list = el("div", { class: "ops" });
    for (const op of ops) {
      const locked = isWrite(op) && !mayWrite();
      list.append(el("button", {
        type: "button", class: "op" + (state.current === op ? " active" : "") + (locked ? " locked" : ""),
        "data-operation": op.operationId, title: locked ? state.me.deniedReason : op.path,
        onclick: () => chooseOperation(op),
      }, el("span", { class: "method " + op.method }, op.method), el("span", {}, op.summary || op.operationId),
      locked ? el("span", { class: "sr-only" }, " (owners and admins only)") : null));
    }
    root.append(el("details", { open: needle !== "" || method !== "" }, el("summary", {}, group.tag + " (" + ops.length + ")"), list));
  }
  if (!shown) root.append(el("p", { class: "muted" }, "No operation matches."));
}

const mayWrite = () => Boolean(state.me && state.me.may.write);

function fieldFor(param, where, value) {
  const id = "param-" + where + "-" + param.name;
  const label = el("label", { for: id }, param.name, param.required ? el("span", { class: "req", title: "required" }, " *") : null,
    el("span", { class: "muted small" }, " " + where + " · " + param.kind.toLowerCase()));
  let input;
  if (param.name === "workspaceId") {
    input = el("input", { id, value: state.me.workspaceId, readOnly: true, "aria-readonly": "true" });
    label.append(el("span", { class: "muted small" }, " · this workspace"));
  } else if (param.enum && param.enum.length) {
    input = el("select", { id }, el("option", { value: "" }, param.required ? "Choose…" : "(none)"),
      ...param.enum.map((choice) => el("option", { value: choice }, choice)));
  } else if (param.kind === "Boolean") {
    input = el("select", { id }, el("option", { value: "" }, "(none)"), el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
  } else if (param.kind === "Integer" || param.kind === "Number") {
    input = el("input", { id, type: "number", step: param.kind === "Integer" ? "1" : "any", inputMode: "numeric" });
  } else {
    input = el("input", { id, autocomplete: "off", placeholder: param.kind === "Array" ? "comma-separated values" : "" });
  }
  Object.assign(input.dataset, { where, name: param.name, kind: param.kind });
  input.required = param.required;
  if (value != null && param.name !== "workspaceId") input.value = String(value);
  const help = param.description ? el("p", { class: "muted small" }, param.description) : null;
  return el("div", { class: "field" }, label, input, help);
}

function chooseOperation(op, filled = {}) {
  state.current = op;
  renderCatalog();
  $("call-empty").hidden = true;
  $("call").hidden = false;
  $("curl").hidden = true;
  $("call-method").textContent = op.method;
  $("call-method").className = "method " + op.method;
  $("call-path").textContent = op.path;
  $("call-summary").textContent = op.summary || op.operationId;
  $("call-description").textContent = op.description && op.description !== op.summary ? op.description : "";
  const params = $("params");
  params.replaceChildren();
  op.pathParams.forEach((p) => params.append(fieldFor(p, "path", (filled.pathParams || {})[p.name])));
  op.queryParams.forEach((p) => params.append(fieldFor(p, "query", (filled.query || {})[p.name])));
  $("body-field").hidden = op.body === "None";
  const example = filled.body !== undefined ? filled.body : op.bodyExample;
  $("body").value = example === undefined ? "{}" : JSON.stringify(example, null, 2);
  $("body-error").textContent = "";
  const locked = isWrite(op) && !mayWrite();
  $("send").disabled = locked;
  $("call-denied").hidden = !locked;
  $("call-denied").textContent = locked ? "You are a " + (state.me.role || "member").toLowerCase() +
    " of this workspace: " + state.me.deniedReason + " (this operation changes data)." : "";
}

// Reads the form into a call request; throws with a message naming the field at fault.
function readForm() {
  const op = state.current;
  const call = { operationId: op.operationId, pathParams: {}, query: {} };
  for (const input of $("params").querySelectorAll("input, select")) {
    const { where, name, kind } = input.dataset;
    if (name === "workspaceId") { call.pathParams.workspaceId = state.me.workspaceId; continue; }
    const raw = input.value.trim();
    input.removeAttribute("aria-invalid");
    if (!raw) {
      if (input.required) { input.setAttribute("aria-invalid", "true"); input.focus(); throw new Error(name + " is required"); }
      continue;
    }
    let value = raw;
    if (kind === "Integer" || kind === "Number") {
      value = Number(raw);
      if (!Number.isFinite(value) || (kind === "Integer" && !Number.isInteger(value))) {
        input.setAttribute("aria-invalid", "true"); input.focus();
        throw new Error(name + " must be " + (kind === "Integer" ? "a whole number" : "a number"));
      }
    } else if (kind === "Boolean") value = raw === "true";
    else if (kind === "Array") value = raw.split(",").map((part) => part.trim()).filter(Boolean);
    if (where === "path") call.pathParams[name] = raw; else call.query[name] = value;
  }
  if (!$("body-field").hidden && $("body").value.trim()) {
    try { call.body = JSON.parse($("body").value); }
    catch (error) { $("body").focus(); throw new Error("The body is not valid JSON: " + error.message); }
  }
  return call;
}

$("body").addEventListener("input", () => {
  try { if ($("body").value.trim()) JSON.parse($("body").value); $("body-error").textContent = ""; $("body").removeAttribute("aria-invalid"); }
  catch (error) { $("body-error").textContent = "Not valid JSON yet: " + error.message; $("body").setAttribute("aria-invalid", "true"); }
});

async function sendCall(call) {
  $("sending").textContent = "Sending…";
  $("send").disabled = true;
  const started = performance.now();
  try {
    const queued = await api("/api/calls", { method: "POST", body: JSON.stringify(call) });
    let view = queued;
    while (view.status === "queued" || view.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, 300));
      view = await api("/api/calls/" + queued.id);
    }
    state.lastRequest = call;
    showResult(view, Math.round(performance.now() - started));
  } catch (error) {
    $("result").hidden = false;
    $("result-status").textContent = error.message;
    $("result-status").className = "error";
    $("result-tree").replaceChildren();
  } finally {
    $("sending").textContent = "";
    $("send").disabled = isWrite(state.current) && !mayWrite();
  }
}

function statusLine(view) {
  return [view.status, view.upstreamStatus ? "HTTP " + view.upstreamStatus : null,
    view.durationMs != null ? view.durationMs + " ms at Clockify" : null,
    view.responseTruncated ? "answer truncated" : null, view.error].filter(Boolean).join(" · ");
}

function showResult(view, roundTripMs) {
  state.lastView = view;
  $("result").hidden = false;
  $("result-status").textContent = statusLine(view) + (roundTripMs ? " · " + roundTripMs + " ms in all" : "");
  $("result-status").className = view.status === "succeeded" ? "ok" : "error";
  showTree($("result-tree"), view.responseBody);
  $("result-search").value = "";
  const pages = state.current && state.current.queryParams.some((p) => p.name === "page");
  $("next-page").hidden = !(pages && Array.isArray(view.responseBody) && view.responseBody.length > 0);
}

$("call").addEventListener("submit", (event) => {
  event.preventDefault();
  let call;
  try { call = readForm(); } catch (error) { $("sending").textContent = error.message; return; }
  sendCall(call);
});
$("next-page").addEventListener("click", () => {
  const call = JSON.parse(JSON.stringify(state.lastRequest));
  call.query.page = (Number(call.query.page) || 1) + 1;
  const pageInput = $("param-query-page");
  if (pageInput) pageInput.value = String(call.query.page);
  sendCall(call);
});
$("result-search").addEventListener("input", () => searchTree($("result-tree"), $("result-search").value));
$("result-copy").addEventListener("click", (event) => copyText(JSON.stringify(state.lastView && state.lastView.responseBody, null, 2), event.target));

const BASES = { Backend: "https://api.clockify.me/api", Reports: "https://reports.api.clockify.me", Pto: "https://pto.api.clockify.me" };
function curlFor(op, call) {
  let path = op.path;
  for (const [name, value] of Object.entries(call.pathParams)) path = path.replace("{" + name + "}", encodeURIComponent(value));
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(call.query)) {
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, String(one));
  }
  const url = (BASES[op.base] || BASES.Backend) + path + (query.toString() ? "?" + query : "");
  const quote = (text) => "'" + text.replace(/'/g, "'\\''") + "'";
  let command = "curl -X " + op.method + " " + quote(url) + " \\\n  -H 'X-Addon-Token: <YOUR_ADDON_TOKEN>'";
  if (call.body !== undefined) command += " \\\n  -H 'Content-Type: application/json' \\\n  -d " + quote(JSON.stringify(call.body));
  return command;
}
$("copy-curl").addEventListener("click", (event) => {
  let call;
  try { call = readForm(); } catch (error) { $("sending").textContent = error.message; return; }
  const command = curlFor(state.current, call);
  $("curl").textContent = command;
  $("curl").hidden = false;
  copyText(command, event.target);
});
$("op-search").addEventListener("input", renderCatalog);
$("op-method").addEventListener("change", renderCatalog);

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

function showPastCall(call) {
  state.historyCall = call;
  $("history-detail").hidden = false;
  $("history-request").textContent = call.method + " " + call.path +
    (call.query && Object.keys(call.query).length ? "\nquery: " + JSON.stringify(call.query) : "") +
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
  chooseOperation(op, { pathParams: pathParamsOf(op.path, call.path), query: call.query || {}, body: call.body == null ? undefined : call.body });
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
}
$("events-refresh").addEventListener("click", () => loadEvents().catch(report));

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
    body.append(el("tr", {}, el("td", {}, kind.kind),
      el("td", {}, el("progress", { max: String(Math.max(kind.units, 1)), value: String(done), "aria-label": kind.kind + " units done" }), " " + done + "/" + kind.units),
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

// ---- Start --------------------------------------------------------------------------------
async function start() {
  const token = takeTokenFromUrl();
  if (!token) {
    $("catalog").textContent = "";
    showBanner("No session: open API Studio from the Clockify sidebar (the page needs the token Clockify passes it).");
    return;
  }
  adoptToken(token);
  try {
    state.me = await api("/api/me");
    applyTheme(state.me.theme);
    if (state.me.language) document.documentElement.lang = state.me.language.toLowerCase();
    $("who").textContent = (state.me.role || "member").toLowerCase();
    if (!state.me.may.write) {
      $("role-note").hidden = false;
      $("role-note").textContent = "You can read everything here. Operations that change data and the bootstrap controls are for workspace owners and admins.";
    }
    state.groups = (await api("/api/operations")).groups;
    $("operation-ids").replaceChildren(...state.groups.flatMap((g) => g.operations).map((op) => el("option", { value: op.operationId })));
    renderCatalog();
  } catch (error) {
    $("catalog").textContent = error.message;
    $("catalog").className = "catalog error";
  }
}
start();
