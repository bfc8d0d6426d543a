// The sidebar page's core, served as /ui/app.js (the page's CSP allows no inline script): the
// token's life, the API, DOM and JSON-tree helpers, tabs and start. /ui/explorer.js and
// /ui/views.js hold the views. Plain JavaScript, no build step and no dependency: the binary
// serves these files as written.
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
// Dates follow the viewer's Clockify language (the token's `language` claim); the page's own
// words are English.
const locale = () => (state.me && state.me.language ? state.me.language.toLowerCase().replace(/_/g, "-") : undefined);
const when = (iso) => {
  if (!iso) return "";
  try { return new Date(iso).toLocaleString(locale()); } catch (_) { return new Date(iso).toLocaleString(); }
};
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
// Every script is deferred and runs in order before DOMContentLoaded: start once all are in.
document.addEventListener("DOMContentLoaded", start);
