// Outplans: a form for every field (caller id, ring time, spacing, tries per destination,
// the calling window, per-number limits), and the preview of what it allows now: for each
// campaign that dials with this outplan, the server's own count of targets dialable now,
// later (by reason) and never (GET /campaigns/{id}/preview, the same rule the dialer uses).
import { all, call } from "./api.js";
import { button, field, guard, h, link, notify, short, table } from "./ui.js";

const DAYS = [[1, "Mon"], [2, "Tue"], [3, "Wed"], [4, "Thu"], [5, "Fri"], [6, "Sat"], [7, "Sun"]];

export function planForm(p = {}) {
  const w = p.call_window || null;
  const days = new Set((w && w.days) || [1, 2, 3, 4, 5]);
  const src = p.source || {};
  return h("form", { class: "panel", id: "outplan-form", "aria-labelledby": "plan-title" },
    h("h2", { id: "plan-title" }, p.id ? "Edit outplan" : "New outplan"),
    h("div", { class: "grid" },
      field("Name", "name", { value: p.name || "", required: true, maxlength: 255 }),
      field("Detail", "detail", { value: p.detail || "" }),
      field("Caller id type", "source_type", { kind: "select", value: src.type || "tel", options: ["tel", "sip"] }),
      field("Caller id", "source_target", { value: src.target || "", help: "E.164 such as +15551230000, or user@host" }),
      field("Ring time (ms)", "dial_timeout", { kind: "number", min: 0, value: p.dial_timeout ?? 30000 }),
      field("Gap between tries (ms)", "try_interval", { kind: "number", min: 0, value: p.try_interval ?? 600000 }),
      [0, 1, 2, 3, 4].map((n) => field(`Tries on destination ${n}`, `max_try_count_${n}`, { kind: "number", min: 0, value: p[`max_try_count_${n}`] ?? (n === 0 ? 3 : 0) })),
      field("Calls to one number in 24 h", "max_attempts_per_number_24h", { kind: "number", min: 0, value: p.max_attempts_per_number_24h ?? 0, help: "all campaigns; 0: unlimited" }),
      field("Least gap between calls to one number (ms)", "min_number_gap", { kind: "number", min: 0, value: p.min_number_gap ?? 0, help: "all campaigns" })),
    h("fieldset", {}, h("legend", {}, "Calling window (the callee's local time)"),
      field("Limit calls to a window", "window_on", { kind: "checkbox", value: Boolean(w) }),
      h("div", { class: "grid" },
        h("fieldset", { class: "days" }, h("legend", {}, "Days"),
          DAYS.map(([n, label]) => field(label, `day_${n}`, { kind: "checkbox", value: days.has(n) }))),
        field("From", "window_start", { kind: "time", value: (w && w.start) || "09:00" }),
        field("Until", "window_end", { kind: "time", value: (w && w.end) || "20:00", help: "exclusive; earlier than From spans midnight" }),
        field("Holidays", "window_holidays", { kind: "textarea", value: ((w && w.holidays) || []).join("\n"), help: "one YYYY-MM-DD per line" }),
        field("Time zone when the number has none", "window_timezone", { value: (w && w.timezone) || "UTC", help: "IANA zone such as America/New_York" }))),
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "save-outplan" }, p.id ? "Save outplan" : "Create outplan")));
}

export function planBody(form) {
  const e = form.elements; const num = (k) => Number(e[k].value || 0);
  const body = {
    name: e.name.value, detail: e.detail.value,
    source: e.source_target.value.trim() ? { type: e.source_type.value, target: e.source_target.value.trim() } : null,
    dial_timeout: num("dial_timeout"), try_interval: num("try_interval"),
    max_attempts_per_number_24h: num("max_attempts_per_number_24h"), min_number_gap: num("min_number_gap"),
    call_window: null,
  };
  for (let n = 0; n < 5; n++) body[`max_try_count_${n}`] = num(`max_try_count_${n}`);
  if (e.window_on.checked) {
    body.call_window = {
      days: DAYS.map(([n]) => n).filter((n) => e[`day_${n}`].checked),
      start: e.window_start.value.slice(0, 5), end: e.window_end.value.slice(0, 5),
      holidays: e.window_holidays.value.split(/\s+/).filter(Boolean),
      timezone: e.window_timezone.value.trim() || "UTC",
    };
  }
  if (!body.source) delete body.source;
  return body;
}

export async function render(main, id) {
  if (id) return outplan(main, id);
  const page = await call("list_outplans", {}, undefined, { page_size: 100 });
  const form = planForm();
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const p = await call("create_outplan", {}, planBody(form)); location.hash = `#/outplans/${p.id}`;
  }); });
  main.replaceChildren(h("h1", {}, "Outplans"),
    table([["Name", (p) => link(`#/outplans/${p.id}`, p.name || short(p.id))], ["Caller id", (p) => p.source.target],
      ["Ring (ms)", (p) => p.dial_timeout], ["Tries", (p) => [0, 1, 2, 3, 4].map((n) => p[`max_try_count_${n}`]).join(" / ")],
      ["Window", (p) => (p.call_window ? `${p.call_window.start}-${p.call_window.end}` : "any time")]],
    page.result, { caption: "Your outplans", rowAttrs: (p) => ({ class: "outplan", "data-id": p.id }) }), form);
}

async function outplan(main, id) {
  const p = await call("get_outplan", { id });
  const form = planForm(p);
  const preview = h("section", { id: "outplan-preview", "aria-labelledby": "preview-title" });
  const showPreview = async () => {
    const users = (await all("list_campaigns", {}, {}, 1000)).filter((c) => c.outplan_id === id);
    const rows = await Promise.all(users.map(async (c) => ({ c, v: await call("get_campaign_preview", { id: c.id }) })));
    preview.replaceChildren(h("h2", { id: "preview-title" }, "What it allows now"),
      rows.length
        ? table([["Campaign", (r) => link(`#/campaigns/${r.c.id}`, r.c.name || short(r.c.id))], ["Targets", (r) => r.v.total],
          ["Dialable now", (r) => r.v.dialable_now], ["Later", (r) => Object.entries(r.v.later || {}).map(([k, n]) => `${k}: ${n}`).join(", ") || "0"],
          ["Never", (r) => Object.entries(r.v.never || {}).map(([k, n]) => `${k}: ${n}`).join(", ") || "0"], ["Computed", (r) => r.v.tm_compute]], rows,
          { rowAttrs: (r) => ({ class: "preview", "data-campaign": r.c.id }) })
        : h("p", {}, "No campaign dials with this outplan yet: make one to see how many of its targets it allows now."),
      button("Refresh preview", () => guard(showPreview), { class: "secondary" }));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const body = planBody(form);
    await call("update_outplan", { id }, { name: body.name, detail: body.detail });
    delete body.name; delete body.detail;
    await call("update_outplan_dial_info", { id }, body);
    notify("Outplan saved."); await showPreview();
  }); });
  main.replaceChildren(h("h1", {}, `Outplan: ${p.name || p.id}`), form, preview);
  await showPreview();
}
