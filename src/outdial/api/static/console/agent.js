// The agent page (issue 14): an agent signs in with its own username and password, sets its
// status, sees the call connected to it (the target's name, detail, data, destinations and
// call history) and sets the call's disposition (and a callback time). It uses only the
// routes an agent's session may use (docs/agents.md, "Agent sign-in"); the session is an
// HttpOnly cookie, and every write carries the CSRF token the sign-in answered. Updates come
// from the agent's own event stream (GET /agents/{id}/events) when it is open, with a slow
// poll as a safety net; while it is not (no EventSource, an error, a reconnect) the page polls.
import { h, notify, clearNotice, table, badge } from "./ui.js";
import { mountPhoneControl } from "./phone.js";

const BASE = "/v1.0";
const STORE = "outdial-agent-session";
const POLL_MS = Number(new URLSearchParams(location.search).get("poll_ms")) || 1500;
const LIVE_POLL_MS = 10 * POLL_MS; // while the event stream is open
const LIVE_RETRY_MS = 30000; // a stream that failed for good is tried again after this
const STATUSES = ["available", "away", "busy", "offline"];
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(http, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${http}`);
    this.http = http; this.reason = e.reason || "";
  }
}

let session = null; // {csrf_token, agent_id, username, customer_id}
let shown = ""; // the campaigncall on screen
const finished = new Set(); // calls disposed here: a poll answered before that is stale
let timer = 0;
let busy = false;
let again = false; // an event came during a refresh: refresh once more after it
let source = null; // the EventSource while the agent is signed in
let retryLive = 0;

function remember(s) {
  session = s;
  if (s) sessionStorage.setItem(STORE, JSON.stringify(s)); else sessionStorage.removeItem(STORE);
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET" && session) headers["X-CSRF-Token"] = session.csrf_token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`${BASE}${path}`, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function setState(state) {
  document.body.dataset.state = state;
  $("signin").hidden = state !== "signin";
  $("desk").hidden = state === "signin" || state === "loading";
  $("signout").hidden = state === "signin" || state === "loading";
}

// ---- sign-in and sign-out -------------------------------------------------------------

function showSignin(message) {
  stopLive(); stopPolling(); remember(null); shown = "";
  $("who").textContent = "";
  setState("signin");
  if (message) notify(message, "error");
  $("signin-username").focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const button = $("signin-submit");
  button.disabled = true;
  try {
    const r = await fetch(`${BASE}/login`, {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "agent", username: form.username.value.trim(), password: form.password.value }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const wait = r.headers.get("Retry-After");
      throw new Error(r.status === 429
        ? `Too many failed sign-ins: try again in ${wait || "a few"} seconds.`
        : r.status === 401 ? "The username or password is wrong." : new ApiError(r.status, data).message);
    }
    form.password.value = "";
    clearNotice();
    await enter(data);
  } catch (e) {
    notify(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

let phoneControl = null; // mountPhoneControl's handle while an agent is signed in

async function signOut() {
  stopLive(); stopPolling();
  if (phoneControl?.phone) await phoneControl.phone.stop().catch(() => {});
  phoneControl = null;
  document.querySelector("#agent-phone .phone-control")?.remove();
  await api("POST", "/logout").catch(() => {});
  showSignin();
  notify("Signed out.", "ok");
}

async function enter(s) {
  remember({ csrf_token: s.csrf_token, agent_id: s.agent_id, username: s.username, customer_id: s.customer_id });
  $("who").textContent = `Signed in as ${s.username}`;
  setState("waiting");
  showWaiting();
  mountPhone(s.agent_id);
  await refresh();
  $("view").focus();
  startLive();
}

// The browser as the agent's phone (phone.js): one control per signed-in agent; the server
// answers 409 WEBRTC_UNAVAILABLE when it has no browser phones, said in the control's status.
function mountPhone(agentId) {
  const where = $("agent-phone");
  const old = where.querySelector(".phone-control");
  if (old && old.dataset.agent === agentId) return;
  if (old) old.remove();
  const box = document.createElement("div");
  box.className = "phone-control"; box.dataset.agent = agentId;
  where.append(box);
  phoneControl = mountPhoneControl(box, agentId, {
    headers: (method) => (method !== "GET" && session ? { "X-CSRF-Token": session.csrf_token } : {}),
  });
}

// ---- status ---------------------------------------------------------------------------

function showAgent(agent) {
  const status = $("status");
  status.textContent = agent.status; status.className = `badge ${agent.status}`;
  $("status-since").textContent = agent.tm_status ? `since ${agent.tm_status.slice(11, 19)} UTC` : "";
  for (const b of document.querySelectorAll(".status-buttons button")) {
    b.setAttribute("aria-pressed", String(b.dataset.status === agent.status));
  }
  const where = (agent.addresses || []).map((a) => a.target_name || a.name || a.target).filter(Boolean);
  $("phone-addresses").textContent = where.length
    ? `Calls ring at: ${where.join(", ")}.`
    : "You have no phone address yet: ask your supervisor to add one.";
}

async function setStatus(ev) {
  const status = ev.currentTarget.dataset.status;
  try {
    showAgent(await api("PUT", `/agents/${session.agent_id}/status`, { status }));
    notify(`Status: ${status}.`, "ok");
  } catch (e) { handle(e); }
}

// ---- the call -------------------------------------------------------------------------

function showWaiting() {
  shown = "";
  $("call").hidden = true;
  $("waiting").hidden = false;
  if (document.body.dataset.state === "call") setState("waiting");
}

function destinations(target) {
  const out = [];
  for (let i = 0; i < 5; i += 1) {
    const d = target[`destination_${i}`];
    if (d && d.target) out.push(h("li", {}, `${d.target_name || d.name || ""} ${d.target}`.trim()));
  }
  return out.length ? out : [h("li", {}, "none")];
}

function showCall(ctx) {
  const call = ctx.campaigncall, target = ctx.target;
  const fresh = shown !== call.id;
  shown = call.id;
  $("waiting").hidden = true;
  $("call").hidden = false;
  $("call").dataset.callId = call.id;
  $("call-status").textContent = call.status;
  $("call-status").className = `badge ${call.status}`;
  $("call-campaign").textContent = ctx.campaign.name ? `campaign ${ctx.campaign.name}` : "";
  $("target-name").textContent = (target && target.name) || "(no name)";
  $("target-detail").textContent = (target && target.detail) || "";
  $("target-data").textContent = (target && target.data) || "";
  $("target-destinations").replaceChildren(...(target ? destinations(target) : []));
  $("history").replaceChildren(ctx.history.length
    ? table([
      ["When (UTC)", (c) => c.tm_create.slice(0, 19)],
      ["Number", (c) => (c.destination && c.destination.target) || ""],
      ["Result", (c) => badge(c.result || c.status)],
      ["Disposition", (c) => c.disposition || ""],
      ["Note", (c) => c.disposition_note || ""],
    ], ctx.history, { caption: "Earlier calls to this person" })
    : h("p", { class: "muted" }, "No earlier calls."));
  if (fresh) {
    const codes = ctx.campaign.dispositions;
    const field = $("code-field");
    const control = codes.length
      ? h("select", { id: "dispose-code", name: "disposition", required: true },
        codes.map((c) => h("option", { value: c }, c)))
      : h("input", { id: "dispose-code", name: "disposition", required: true, maxlength: 64,
        pattern: "[A-Za-z0-9_.:\\-]{1,64}" });
    field.replaceChild(control, $("dispose-code"));
    $("dispose").reset();
    setState("call");
    notify(`Connected: ${(target && target.name) || "a call"}.`, "ok");
  }
}

async function dispose(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const body = { disposition: form.disposition.value, note: form.note.value };
  if (form.callback_at.value) {
    const at = new Date(form.callback_at.value); // the browser's local time
    if (Number.isNaN(at.getTime())) { notify("The callback time is not a valid time.", "error"); return; }
    body.callback_at = at.toISOString();
  }
  const button = $("dispose-submit");
  button.disabled = true;
  try {
    const done = await api("PUT", `/campaigncalls/${shown}/disposition`, body);
    finished.add(done.id);
    notify(`Saved: ${done.disposition}${done.callback_at ? `, call back ${done.callback_at.slice(0, 16)} UTC` : ""}.`, "ok");
    showWaiting();
    await refresh();
  } catch (e) {
    if (e.reason === "CAMPAIGNCALL_NOT_DONE") notify("The call is still going: set the callback once it ends.", "error");
    else handle(e);
  } finally {
    button.disabled = false;
  }
}

// ---- polling --------------------------------------------------------------------------

async function refresh() {
  if (!session) return;
  if (busy) { again = true; return; }
  busy = true; again = false;
  try {
    showAgent(await api("GET", `/agents/${session.agent_id}`));
    const page = await api("GET", `/agents/${session.agent_id}/campaigncalls?active=1&page_size=5`);
    const call = page.result.find((c) => !finished.has(c.id));
    if (!call) { showWaiting(); return; }
    const ctx = await api("GET", `/campaigncalls/${call.id}/context`);
    if (!finished.has(ctx.campaigncall.id)) showCall(ctx);
  } catch (e) {
    handle(e);
  } finally {
    busy = false;
    if (again && session) setTimeout(refresh, 0);
  }
}

function startPolling(ms = POLL_MS) { stopPolling(); timer = setInterval(refresh, ms); }
function stopPolling() { if (timer) clearInterval(timer); timer = 0; }

// ---- live updates: the agent's own event stream ---------------------------------------

function startLive() {
  stopLive();
  startPolling(); // until the stream is open, and for good without EventSource
  document.body.dataset.live = "poll";
  if (typeof EventSource === "undefined" || !session) return;
  const es = new EventSource(`${BASE}/agents/${encodeURIComponent(session.agent_id)}/events`);
  source = es;
  let pending = 0; // a burst of events makes one refresh
  const changed = () => { if (!pending) pending = setTimeout(() => { pending = 0; refresh(); }, 100); };
  es.addEventListener("agent_status_updated", changed);
  es.addEventListener("campaigncall_updated", changed);
  es.onopen = () => {
    if (source !== es) return;
    document.body.dataset.live = "stream";
    startPolling(LIVE_POLL_MS);
    refresh(); // what happened before the stream opened
  };
  es.onerror = () => {
    if (source !== es) return;
    document.body.dataset.live = "poll";
    startPolling(); // the browser reconnects by itself; poll meanwhile
    if (es.readyState === EventSource.CLOSED) { // refused (an ended session, a limit)
      source = null;
      retryLive = setTimeout(() => { if (session) startLive(); }, LIVE_RETRY_MS);
    }
  };
}

function stopLive() {
  if (source) source.close();
  source = null;
  if (retryLive) clearTimeout(retryLive);
  retryLive = 0;
}

function handle(e) {
  if (e instanceof ApiError && e.http === 401) showSignin("Your session has ended: sign in again.");
  else notify(e.message, "error");
}

// ---- start ----------------------------------------------------------------------------

async function start() {
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("dispose").addEventListener("submit", dispose);
  for (const b of document.querySelectorAll(".status-buttons button")) {
    if (STATUSES.includes(b.dataset.status)) b.addEventListener("click", setStatus);
  }
  try { // a reload keeps the session (the cookie); the CSRF token comes back with it
    const who = await api("GET", "/session");
    if (who.kind === "agent") { await enter(who); return; }
  } catch { /* not signed in */ }
  showSignin();
}

start();
