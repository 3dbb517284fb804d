// Campaigns: create and edit (actions through the per-type editor), run and stop, the live
// numbers (GET /campaigns/{id}/stats refreshed from the event stream, as /dashboard does),
// the calls with filters and recordings, and the compliance export as CSV and JSON.
import { all, browserUrl, call } from "./api.js";
import { actionsEditor } from "./actions.js";
import { callsPanel } from "./calls.js";
import { badge, button, download, field, formValues, guard, h, link, notify, short, table, toCsv, NIL } from "./ui.js";

async function choices() {
  const [plans, lists, queues] = await Promise.all([all("list_outplans", {}, {}, 500), all("list_outdials", {}, {}, 500), all("list_queues", {}, {}, 500)]);
  return { plans: [[NIL, "(none)"], ...plans.map((p) => [p.id, p.name || short(p.id)])],
    lists: [[NIL, "(none)"], ...lists.map((o) => [o.id, o.name || short(o.id)])],
    queues: [[NIL, "(no queue: no agents)"], ...queues.map((q) => [q.id, q.name || short(q.id)])] };
}

// The agent settings of a campaign (issue 13): sent only with a queue, or when they were set.
function agentFields(v) {
  const out = { dial_mode: v.dial_mode, abandon_message: v.abandon_message,
    dispositions: v.dispositions.split(",").map((d) => d.trim()).filter(Boolean) };
  if (v.max_abandon_rate !== undefined) out.max_abandon_rate = v.max_abandon_rate;
  return out;
}

function campaignForm(c, opts, editor) {
  return h("form", { class: "panel", id: "campaign-form", "aria-labelledby": "campaign-form-title" },
    h("h2", { id: "campaign-form-title" }, c.id ? "Settings" : "New campaign"),
    h("div", { class: "grid" },
      field("Name", "name", { value: c.name || "", required: true, maxlength: 255 }),
      field("Detail", "detail", { value: c.detail || "" }),
      field("Outplan", "outplan_id", { kind: "select", value: c.outplan_id || NIL, options: opts.plans }),
      field("List", "outdial_id", { kind: "select", value: c.outdial_id || NIL, options: opts.lists }),
      field("Type", "type", { kind: "select", value: c.type || "call", options: ["call", "flow"] }),
      field("When every target is done", "end_handle", { kind: "select", value: c.end_handle || "stop", options: [["stop", "stop"], ["continue", "keep running"]] }),
      field("Most calls at once", "max_concurrent_calls", { kind: "number", min: 1, value: c.max_concurrent_calls ?? 10 }),
      field("Calls started per second", "calls_per_second", { kind: "number", min: 0.1, step: 0.1, value: c.calls_per_second ?? 2 }),
      field("Service level (%)", "service_level", { kind: "number", min: 0, max: 100, value: c.service_level ?? 0 })),
    h("fieldset", { class: "grid", id: "agent-settings" }, h("legend", {}, "Agents (a queue connects answered calls to its agents)"),
      field("Queue", "queue_id", { kind: "select", value: c.queue_id || NIL, options: opts.queues }),
      field("Dial mode", "dial_mode", { kind: "select", value: c.dial_mode || "", options: [["", "default (power with a queue)"], "preview", "progressive", "power", "predictive"] }),
      field("Most abandoned (%)", "max_abandon_rate", { kind: "number", min: 0, max: 100, step: 0.1, value: c.max_abandon_rate ?? 3 }),
      field("Abandon message", "abandon_message", { value: c.abandon_message || "" }),
      field("Dispositions", "dispositions", { value: (c.dispositions || []).join(", "), help: "codes an agent may set, comma separated" })),
    editor.root,
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "save-campaign" }, c.id ? "Save campaign" : "Create campaign")));
}

export async function render(main, id) {
  if (id) return campaign(main, id);
  const [page, opts] = await Promise.all([call("list_campaigns", {}, undefined, { page_size: 100 }), choices()]);
  const editor = actionsEditor([{ type: "talk", option: { text: "Hello, this is a call from outdial." } }, { type: "hangup", option: {} }]);
  const form = campaignForm({}, opts, editor);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(form);
    const body = { name: v.name, detail: v.detail, type: v.type, end_handle: v.end_handle, outplan_id: v.outplan_id, outdial_id: v.outdial_id,
      max_concurrent_calls: v.max_concurrent_calls, calls_per_second: v.calls_per_second, service_level: v.service_level, actions: editor.value(),
      queue_id: v.queue_id, ...agentFields(v) };
    const c = await call("create_campaign", {}, body); location.hash = `#/campaigns/${c.id}`;
  }); });
  main.replaceChildren(h("h1", {}, "Campaigns"),
    table([["Name", (c) => link(`#/campaigns/${c.id}`, c.name || short(c.id))], ["Status", (c) => badge(c.status)],
      ["List", (c) => (c.outdial_id === NIL ? "" : link(`#/lists/${c.outdial_id}`, short(c.outdial_id)))],
      ["Outplan", (c) => (c.outplan_id === NIL ? "" : link(`#/outplans/${c.outplan_id}`, short(c.outplan_id)))]],
    page.result, { caption: "Your campaigns", rowAttrs: (c) => ({ class: "campaign", "data-id": c.id }) }), form);
}

function stat(numbers, id, label) {
  numbers[id] = h("b", { id }, "0");
  return h("div", { class: "stat" }, h("span", {}, label), numbers[id]);
}

async function campaign(main, id) {
  const [c, opts] = await Promise.all([call("get_campaign", { id }), choices()]);
  const status = h("span", { id: "campaign-status", class: `badge ${c.status}` }, c.status);
  const run = button("Run", () => setStatus("run"), { id: "run" });
  const stop = button("Stop", () => setStatus("stop"), { id: "stop", class: "danger" });
  const numbers = {}; const liveState = h("span", { class: "muted", id: "live-state" }, "");
  // With a queue: calls connected to an agent, abandoned ones and the abandon rate.
  const agentStats = h("div", { class: "stats", id: "agent-stats", "aria-live": "polite", hidden: c.queue_id === NIL },
    stat(numbers, "connected", "Connected to agents"), stat(numbers, "abandoned", "Abandoned"), stat(numbers, "abandon-rate", "Abandon %"));
  const live = h("section", { "aria-labelledby": "live-title" }, h("h2", { id: "live-title" }, "Live"),
    h("div", { class: "stats", "aria-live": "polite" }, stat(numbers, "targets-total", "Targets"), stat(numbers, "targets-done", "Done"),
      stat(numbers, "in-flight", "In flight"), stat(numbers, "attempts", "Attempts"), stat(numbers, "answer-rate", "Answered %")),
    agentStats, h("p", {}, link("/dashboard", "Open the live dashboard"), liveState));
  const refresh = async () => {
    const [cc, s] = await Promise.all([call("get_campaign", { id }), call("get_campaign_stats", { id })]);
    status.textContent = cc.status; status.className = `badge ${cc.status}`;
    run.disabled = cc.status === "run"; stop.disabled = cc.status === "stop";
    const set = (k, v) => { numbers[k].textContent = v; };
    set("targets-total", s.targets_total); set("targets-done", s.targets_by_status.done || 0); set("in-flight", s.calls_in_flight);
    set("attempts", s.attempts_total); set("answer-rate", Math.round(s.answer_rate * 100));
    set("connected", s.connected ?? 0); set("abandoned", s.abandoned ?? 0); set("abandon-rate", ((s.abandon_rate ?? 0) * 100).toFixed(1));
  };
  const setStatus = (st) => guard(async () => { await call("update_campaign_status", { id }, { status: st }); await refresh(); notify(`Campaign set to ${st}.`); });

  const editor = actionsEditor(c.actions || []);
  const form = campaignForm(c, opts, editor);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(form);
    await call("update_campaign", { id }, { name: v.name, detail: v.detail, type: v.type, end_handle: v.end_handle,
      max_concurrent_calls: v.max_concurrent_calls, calls_per_second: v.calls_per_second, service_level: v.service_level, ...agentFields(v) });
    await call("update_campaign_resource_info", { id }, { outplan_id: v.outplan_id, outdial_id: v.outdial_id, queue_id: v.queue_id, next_campaign_id: c.next_campaign_id });
    agentStats.hidden = v.queue_id === NIL;
    await call("update_campaign_actions", { id }, { actions: editor.value() });
    notify("Campaign saved.");
  }); });

  const exportBox = h("section", { "aria-labelledby": "export-title" }, h("h2", { id: "export-title" }, "Compliance export"),
    h("p", {}, "Every attempt and every skip of this campaign with its proof, as the API gives it."),
    h("div", { class: "actions-row" },
      button("Download CSV", () => guard(() => exportCompliance("csv")), { id: "export-csv" }),
      button("Download JSON", () => guard(() => exportCompliance("json")), { id: "export-json" })));
  const exportCompliance = async (kind) => {
    const rows = await all("get_campaign_compliance", { id }, {}, 1000000);
    const name = `compliance-${id}.${kind}`;
    if (kind === "csv") download(name, toCsv(rows), "text/csv");
    else download(name, JSON.stringify(rows, null, 2), "application/json");
    notify(`Exported ${rows.length} records.`);
  };
  const calls = callsPanel(id);
  main.replaceChildren(h("h1", {}, `Campaign: ${c.name || c.id}`), h("div", { class: "actions-row" }, "Status ", status, run, stop),
    live, calls.root, exportBox, form);
  await refresh(); await calls.load(true);

  // Refresh from the event stream (a burst of events makes one refresh).
  const source = new EventSource(browserUrl("stream_events"));
  let pending = null;
  const changed = () => { if (!pending) pending = setTimeout(() => { pending = null; guard(refresh); guard(calls.refresh); }, 300); };
  for (const t of ["campaign_updated", "campaign_status_run", "campaign_status_stopping", "campaign_status_stop",
    "campaigncall_created", "campaigncall_updated", "outdialtarget_updated"]) source.addEventListener(t, changed);
  source.onopen = () => { liveState.textContent = " · live"; };
  source.onerror = () => { liveState.textContent = " · reconnecting"; };
  return () => { source.close(); if (pending) clearTimeout(pending); };
}
