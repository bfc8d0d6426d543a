// The Explorer view of the sidebar page, served as /ui/explorer.js: the catalog, the typed form,
// sending, the answer and copy as curl.
"use strict";

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
  if (value != null && param.name !== "workspaceId") input.value = Array.isArray(value) ? value.join(", ") : String(value);
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
  const asked = Number(state.lastRequest && state.lastRequest.query["page-size"]) || 0;
  const full = Array.isArray(view.responseBody) && view.responseBody.length > 0 &&
    (!asked || view.responseBody.length >= asked);
  $("next-page").hidden = !(pages && full);
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

