// Campaigncalls with filters (result, hangup reason, time), asked of the server (?result=,
// ?hangup_reason=, ?since=, ?until=; "in flight" is ?status=dialing,progressing), loaded page
// by page newest first: every loaded row matches. A call's recordings
// play in the page (GET /recordings?campaigncall_id=..., the WAV file from the API).
import { browserUrl, call } from "./api.js";
import { addr, badge, button, field, guard, h, link, short, table } from "./ui.js";

const REASONS = ["", "normal", "busy", "noanswer", "failed", "cancel", "timeout", "dialout", "amd", "lost"];

export function callsPanel(campaignId) {
  const form = h("form", { class: "grid", id: "calls-filter", "aria-label": "Filter calls" },
    field("Result", "result", { kind: "select", options: [["", "any"], "success", "fail", ["none", "(in flight)"]] }),
    field("Hangup reason", "reason", { kind: "select", options: REASONS.map((r) => [r, r || "any"]) }),
    field("From (UTC)", "from", { kind: "datetime-local" }),
    field("Until (UTC)", "until", { kind: "datetime-local" }));
  const holder = h("div", { id: "calls" }); const more = h("div", { class: "actions-row" });
  const recordings = h("div", { id: "recordings" });
  let rows = []; let token = "";
  const utc = (v) => (v ? `${v}Z` : ""); // datetime-local is read as UTC
  const filters = () => {
    const f = form.elements; const q = {};
    if (f.result.value === "none") q.status = "dialing,progressing"; else if (f.result.value) q.result = f.result.value;
    if (f.reason.value) q.hangup_reason = f.reason.value;
    if (f.from.value) q.since = utc(f.from.value);
    if (f.until.value) q.until = utc(f.until.value);
    return q;
  };
  const draw = () => {
    holder.replaceChildren(table([["When", (c) => c.tm_create], ["Destination", (c) => addr(c.destination)], ["Status", (c) => badge(c.status)],
      ["Result", (c) => (c.result ? badge(c.result) : "")], ["Reason", (c) => c.hangup_reason], ["SIP", (c) => c.sip_code || ""],
      ["Target", (c) => link(`#/lists/${c.outdial_id}/targets/${c.outdial_target_id}`, short(c.outdial_target_id))],
      ["Recording", (c) => button("Recordings", () => guard(() => showRecordings(c)), { class: "secondary", "aria-label": `Recordings of the call at ${c.tm_create}` })]],
    rows, { caption: `${rows.length} matching call(s) loaded${token ? " (older ones below)" : ""}`, rowAttrs: (c) => ({ class: "campaigncall", "data-id": c.id, "data-result": c.result }) }));
  };
  const showRecordings = async (c) => {
    const found = (await call("list_recordings", {}, undefined, { campaigncall_id: c.id })).result;
    recordings.replaceChildren(h("h3", {}, `Recordings of the call at ${c.tm_create}`),
      found.length ? found.map((r) => h("div", {}, h("p", {}, `${r.tm_start || r.tm_create} (${r.status})`),
        h("audio", { controls: true, preload: "none", src: browserUrl("get_recording_file", { id: r.id }), "aria-label": `Recording ${short(r.id)}` })))
        : h("p", {}, "No recording for this call."));
  };
  let asked = 0; // a newer load (the filters changed) wins over one still on its way
  const load = async (first) => {
    if (first) asked++;
    const mine = asked; const from = first ? "" : token;
    const query = { ...filters(), page_size: 100, page_token: from };
    const page = campaignId ? await call("list_campaign_campaigncalls", { id: campaignId }, undefined, query) : await call("list_campaigncalls", {}, undefined, query);
    if (mine !== asked) return;
    if (first) rows = [];
    rows.push(...page.result); token = page.next_page_token; draw();
    more.replaceChildren(button("Reload", () => guard(() => load(true)), { class: "secondary", id: "reload-calls" }),
      ...(token ? [button("Load older calls", () => guard(() => load(false)), { class: "secondary", id: "more-calls" })] : []));
  };
  form.addEventListener("change", () => guard(() => load(true)));
  const root = h("section", { "aria-labelledby": "calls-title" }, h("h2", { id: "calls-title" }, "Calls"), form, holder, more, recordings);
  // Live pages reload the newest calls, unless the user is reading older ones.
  const refresh = () => (rows.length <= 100 ? load(true) : Promise.resolve());
  return { root, load, refresh };
}

export async function render(main) {
  const panel = callsPanel(null);
  main.replaceChildren(h("h1", {}, "Calls"), panel.root);
  await panel.load(true);
}
