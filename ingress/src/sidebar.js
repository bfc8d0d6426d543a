// The sidebar page's script; served as /ui/app.js (the page's CSP allows no inline script).
"use strict";
// The user token arrives in the query string. It stays in memory, is sent only to this
// add-on's own API, and is dropped from the address bar so it is not kept in history.
const params = new URLSearchParams(window.location.search);
const token = params.get("auth_token");
history.replaceState(null, "", window.location.pathname);
const $ = (id) => document.getElementById(id);
let operations = [];
let current = null;

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error((data && data.error && data.error.message) || ("HTTP " + response.status));
  }
  return data;
}

function text(tag, value, className) {
  const node = document.createElement(tag);
  node.textContent = value;
  if (className) node.className = className;
  return node;
}

function renderCatalog() {
  const needle = $("filter").value.trim().toLowerCase();
  const root = $("catalog");
  root.replaceChildren();
  root.className = "";
  for (const group of operations) {
    const ops = group.operations.filter((op) =>
      !needle || (op.operationId + " " + op.summary + " " + op.path).toLowerCase().includes(needle));
    if (!ops.length) continue;
    root.append(text("h2", group.tag));
    for (const op of ops) {
      const button = document.createElement("button");
      button.className = "op" + (current && current.operationId === op.operationId ? " active" : "");
      button.append(text("span", op.method, "method " + op.method), text("span", op.summary || op.operationId));
      button.onclick = () => choose(op);
      root.append(button);
    }
  }
}

function choose(op) {
  current = op;
  renderCatalog();
  $("status").hidden = true;
  $("call").hidden = false;
  $("call-method").textContent = op.method;
  $("call-method").className = "method " + op.method;
  $("call-path").textContent = op.path;
  $("summary").textContent = op.summary || "";
  const fields = $("params");
  fields.replaceChildren();
  const add = (param, where) => {
    if (param.name === "workspaceId") return; // always this workspace
    const wrapper = document.createElement("div");
    wrapper.className = "field";
    const label = text("label", param.name + (param.required ? " *" : "") + " (" + where + ", " + param.kind.toLowerCase() + ")");
    const input = document.createElement("input");
    input.dataset.where = where;
    input.dataset.name = param.name;
    input.dataset.kind = param.kind;
    input.required = param.required;
    wrapper.append(label, input);
    fields.append(wrapper);
  };
  op.pathParams.forEach((p) => add(p, "path"));
  op.queryParams.forEach((p) => add(p, "query"));
  $("body-field").hidden = op.body === "None";
}

$("call").onsubmit = async (event) => {
  event.preventDefault();
  const call = { operationId: current.operationId, pathParams: {}, query: {} };
  for (const input of $("params").querySelectorAll("input")) {
    if (!input.value) continue;
    const value = ["Integer", "Number"].includes(input.dataset.kind) ? Number(input.value)
      : input.dataset.kind === "Boolean" ? input.value === "true" : input.value;
    if (input.dataset.where === "path") call.pathParams[input.dataset.name] = input.value;
    else call.query[input.dataset.name] = value;
  }
  if (!$("body-field").hidden) {
    try { call.body = JSON.parse($("body").value || "null"); }
    catch (error) { $("result").textContent = "The body is not valid JSON: " + error.message; return; }
  }
  $("sending").textContent = "Sending…";
  try {
    const queued = await api("/api/calls", { method: "POST", body: JSON.stringify(call) });
    let view = queued;
    while (view.status === "queued" || view.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, 400));
      view = await api("/api/calls/" + queued.id);
    }
    showResult(view);
  } catch (error) {
    $("result").textContent = error.message;
    $("result").className = "error";
  }
  $("sending").textContent = "";
  loadHistory();
};

function showResult(view) {
  const head = view.status + (view.upstreamStatus ? " · HTTP " + view.upstreamStatus : "")
    + (view.durationMs != null ? " · " + view.durationMs + " ms" : "")
    + (view.responseTruncated ? " · truncated" : "") + (view.error ? " · " + view.error : "");
  $("result").className = view.status === "succeeded" ? "" : "error";
  $("result").textContent = head + "\n\n" + JSON.stringify(view.responseBody, null, 2);
}

async function loadHistory() {
  const page = await api("/api/calls?page=1&pageSize=15");
  const table = $("history");
  table.replaceChildren();
  for (const call of page.items) {
    const row = document.createElement("tr");
    row.append(text("td", new Date(call.createdAt).toLocaleTimeString()), text("td", call.method, "method " + call.method),
      text("td", call.path), text("td", call.status), text("td", call.upstreamStatus ?? ""));
    row.className = "clickable";
    row.onclick = () => showResult(call);
    table.append(row);
  }
}

async function start() {
  if (!token) {
    $("catalog").textContent = "Open this page from the Clockify sidebar.";
    return;
  }
  try {
    operations = (await api("/api/operations")).groups;
    renderCatalog();
    loadHistory();
  } catch (error) {
    $("catalog").textContent = error.message;
    $("catalog").className = "error";
  }
}
$("filter").oninput = renderCatalog;
start();
