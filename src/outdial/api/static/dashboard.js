// outdial dashboard: plain JS, no build step. Reads the REST API with the access key and
// follows GET /v1.0/events (Server-Sent Events) to refresh what changed.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("outdial-key") || "", campaigns: new Map(),
                current: null, source: null, pending: null, listPending: null };

async function api(method, path, body) {
  const r = await fetch(`/v1.0${path}`, {
    method, headers: { "Authorization": `Bearer ${state.key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || `HTTP ${r.status}`);
  return data;
}

async function signIn() {
  state.key = $("key").value.trim() || state.key;
  $("error").textContent = "";
  try { await loadCampaigns(); }
  catch (e) { $("error").textContent = e.message; state.key = ""; return; }
  sessionStorage.setItem("outdial-key", state.key);
  $("signin-view").classList.add("hidden"); $("app-view").classList.remove("hidden");
  $("signout").classList.remove("hidden");
  connect();
}

function signOut() {
  sessionStorage.removeItem("outdial-key"); state.key = "";
  if (state.source) state.source.close();
  location.reload();
}

async function loadCampaigns() {
  const page = await api("GET", "/campaigns?page_size=100");
  state.campaigns = new Map(page.result.map((c) => [c.id, c]));
  const body = $("campaigns"); body.textContent = "";
  for (const c of page.result) {
    const tr = document.createElement("tr");
    tr.className = "campaign" + (c.id === state.current ? " selected" : "");
    tr.dataset.id = c.id;
    const name = document.createElement("td"); name.textContent = c.name || c.id.slice(0, 8);
    const st = document.createElement("td"); const b = document.createElement("span");
    b.className = `badge ${c.status}`; b.textContent = c.status; st.appendChild(b);
    tr.append(name, st); tr.onclick = () => select(c.id); body.appendChild(tr);
  }
}

async function select(id) {
  state.current = id;
  $("empty").classList.add("hidden"); $("campaign-view").classList.remove("hidden");
  for (const tr of $("campaigns").children) tr.classList.toggle("selected", tr.dataset.id === id);
  await refresh();
}

async function refresh() {
  if (!state.current) return;
  const id = state.current;
  const [c, s] = await Promise.all([api("GET", `/campaigns/${id}`), api("GET", `/campaigns/${id}/stats`)]);
  if (id !== state.current) return;
  $("campaign-name").textContent = c.name || c.id;
  $("campaign-status").textContent = c.status; $("campaign-status").className = `badge ${c.status}`;
  $("targets-done").textContent = s.targets_by_status.done;
  $("targets-total").textContent = s.targets_total;
  $("in-flight").textContent = s.calls_in_flight;
  $("attempts").textContent = s.attempts_total;
  $("answer-rate").textContent = `${Math.round(s.answer_rate * 100)}%`;
  $("abandon-rate").textContent = `${(s.abandon_rate * 100).toFixed(1)}%`;
  $("abandoned").textContent = s.abandoned; $("for-agents").textContent = s.abandoned + s.connected;
  const total = Math.max(1, s.targets_total);
  $("progress").children[0].style.width = `${100 * s.targets_by_status.done / total}%`;
  $("progress").children[1].style.width = `${100 * s.targets_by_status.progressing / total}%`;
  const reasons = $("reasons"); reasons.textContent = "";
  for (const [reason, n] of Object.entries(s.attempts_by_hangup_reason).sort((a, b) => b[1] - a[1])) {
    const tr = document.createElement("tr"); tr.dataset.reason = reason;
    const a = document.createElement("td"); a.textContent = reason;
    const b = document.createElement("td"); b.textContent = n; tr.append(a, b); reasons.appendChild(tr);
  }
  $("run").disabled = c.status === "run"; $("stop").disabled = c.status === "stop";
  drawChart(s.calls_per_minute);
  await showAgents();
}

async function showAgents() {  // issue 13: who is available, ringing (on a call), busy, away
  const page = await api("GET", "/agents?page_size=100");
  const body = $("agents"); body.textContent = "";
  for (const a of page.result) {
    const tr = document.createElement("tr"); tr.dataset.agent = a.id;
    const name = document.createElement("td"); name.textContent = a.name || a.username || a.id.slice(0, 8);
    const st = document.createElement("td"); const b = document.createElement("span");
    b.className = `badge ${a.status}`; b.textContent = a.status; st.appendChild(b);
    tr.append(name, st); body.appendChild(tr);
  }
}

function drawChart(minutes) {
  const canvas = $("chart"), ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 24;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...minutes.map((m) => m.count));
  const step = (w - pad * 2) / Math.max(1, minutes.length);
  ctx.strokeStyle = "#e3e6ec"; ctx.beginPath(); ctx.moveTo(pad, h - pad); ctx.lineTo(w - pad, h - pad); ctx.stroke();
  ctx.fillStyle = "#2f6fe4";
  minutes.forEach((m, i) => {
    const bh = (h - pad * 2) * m.count / max;
    ctx.fillRect(pad + i * step + 1, h - pad - bh, Math.max(1, step - 2), bh);
  });
  ctx.fillStyle = "#6b7385"; ctx.font = "11px system-ui";
  ctx.fillText(`max ${max}/min`, pad, pad - 8);
  ctx.fillText("-60 min", pad, h - 6); ctx.fillText("now", w - pad - 20, h - 6);
}

function schedule() {  // coalesce bursts of events into one refresh
  if (state.pending) return;
  state.pending = setTimeout(async () => { state.pending = null; try { await refresh(); } catch (e) {} }, 250);
}
function scheduleList() {
  if (state.listPending) return;
  state.listPending = setTimeout(async () => { state.listPending = null; try { await loadCampaigns(); } catch (e) {} }, 500);
}

function connect() {
  const src = new EventSource(`/v1.0/events?token=${encodeURIComponent(state.key)}`);
  state.source = src;
  src.onopen = () => { $("live").textContent = "live"; $("live").className = "on"; };
  src.onerror = () => { $("live").textContent = "reconnecting"; $("live").className = ""; };
  src.onmessage = src.onevent = null;
  const handle = (msg) => {
    const ev = JSON.parse(msg.data);
    const d = ev.data || {};
    if (ev.type.startsWith("campaign_")) scheduleList();
    if (state.current && (d.campaign_id === state.current || d.id === state.current ||
        ev.type.startsWith("outdialtarget_"))) schedule();
  };
  // The SIP trunk (docs/operations.md): an engine's trunk_down / trunk_up, and /health at start.
  const trunk = (down, detail) => {
    $("trunk").classList.toggle("hidden", !down);
    $("trunk").title = down ? (detail || "") : "";
  };
  src.addEventListener("trunk_down", (msg) => trunk(true, (JSON.parse(msg.data).data || {}).detail));
  src.addEventListener("trunk_up", () => trunk(false));
  fetch("/health").then((r) => r.json()).then((h) => {
    const t = ((h.sip || {}).trunk_state || {});
    trunk(t.state === "down", t.reason);
  }).catch(() => {});
  for (const type of ["outdial_created", "outdial_updated", "outdial_deleted", "outdialtarget_created",
      "outdialtarget_updated", "outdialtarget_deleted", "campaign_created", "campaign_updated",
      "campaign_deleted", "campaign_status_run", "campaign_status_stopping", "campaign_status_stop",
      "campaigncall_created", "campaigncall_updated", "campaigncall_deleted"]) {
    src.addEventListener(type, handle);
  }
}

async function setStatus(status) {
  try { await api("PUT", `/campaigns/${state.current}/status`, { status }); await refresh(); }
  catch (e) { alert(e.message); }
}

$("signin").onclick = signIn;
$("key").onkeydown = (e) => { if (e.key === "Enter") signIn(); };
$("signout").onclick = signOut;
$("run").onclick = () => setStatus("run");
$("stop").onclick = () => setStatus("stop");
if (state.key) signIn();
