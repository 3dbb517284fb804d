// Lists (outdials): create, upload CSV / JSON Lines with progress, browse and search targets
// (on the server: ?q= and ?status=),
// and one target's page with its eligibility answer.
import { all, call } from "./api.js";
import { addr, badge, button, field, formValues, guard, h, link, notify, short, table, NIL } from "./ui.js";
import { uploadTargets } from "./upload.js";

export async function render(main, id, sub, targetId) {
  if (id && sub === "targets" && targetId) return target(main, id, targetId);
  if (id) return outdial(main, id);
  const page = await call("list_outdials", {}, undefined, { page_size: 100 });
  const form = h("form", { class: "panel", id: "outdial-form", "aria-labelledby": "new-list" },
    h("h2", { id: "new-list" }, "New list"),
    h("div", { class: "grid" }, field("Name", "name", { required: true, maxlength: 255 }), field("Detail", "detail")),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create list")));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const o = await call("create_outdial", {}, formValues(form));
    location.hash = `#/lists/${o.id}`;
  }); });
  main.replaceChildren(h("h1", {}, "Lists"), form,
    table([["Name", (o) => link(`#/lists/${o.id}`, o.name || short(o.id))], ["Detail", (o) => o.detail],
      ["Campaign", (o) => (o.campaign_id === NIL ? "" : link(`#/campaigns/${o.campaign_id}`, short(o.campaign_id)))],
      ["Created", (o) => o.tm_create]], page.result, { caption: "Your lists", rowAttrs: (o) => ({ class: "outdial", "data-id": o.id }) }));
}

function errorTable(errors) {
  return table([["Line", (e) => e.line], ["Field", (e) => e.field], ["Message", (e) => e.message]], errors,
    { caption: "Bad rows: nothing was written", rowAttrs: () => ({ class: "bad-row" }) });
}

async function outdial(main, id) {
  const o = await call("get_outdial", { id });
  const bar = h("progress", { id: "upload-progress", max: 100, value: 0, "aria-label": "Upload progress" });
  const status = h("p", { id: "upload-status", role: "status" });
  const errors = h("div", { id: "upload-errors" });
  const upload = h("form", { class: "panel", id: "upload-form", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload targets"),
    field("CSV or JSON Lines file", "file", { kind: "file", accept: ".csv,.jsonl,.ndjson,.json,text/csv", required: true,
      help: "CSV header: name, detail, data, destination_0..destination_4, timezone. Destinations: tel:+15551234567 or sip:user@host." }),
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "upload" }, "Upload")), bar, status, errors);
  upload.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const file = upload.elements.file.files[0]; if (!file) return;
    errors.replaceChildren(); bar.value = 0; status.textContent = "Uploading...";
    const r = await uploadTargets(id, file, (done, total, what) => {
      bar.value = total ? Math.round((100 * done) / total) : 0;
      status.textContent = what === "rows" ? `${done} of ${total} rows` : what === "undoing" ? `Undoing: ${done} left` : `${done} of ${total} bytes`;
    });
    if (r.errors) { bar.value = 0; status.textContent = `${r.errors.length} bad row(s); nothing imported.`; errors.replaceChildren(errorTable(r.errors)); notify("The file was refused: see the bad rows.", "error"); }
    else { bar.value = 100; status.textContent = `Imported ${r.imported} targets.`; notify(`Imported ${r.imported} targets.`); await showTargets(); }
  }); });

  const one = h("form", { class: "panel", id: "target-form", "aria-labelledby": "one-title" },
    h("h2", { id: "one-title" }, "Add one target"),
    h("div", { class: "grid" }, field("Name", "name"), field("Number or SIP address", "destination_0", { required: true, help: "tel:+15551234567 or sip:user@host" }), field("Time zone", "timezone", { help: "IANA zone, optional" })),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Add target")));
  one.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(one); const body = { name: v.name, destination_0: v.destination_0 };
    if (v.timezone) body.timezone = v.timezone;
    await call("create_outdial_targets_bulk", { id }, [body]); notify("Target added."); one.reset(); await showTargets();
  }); });

  // The search runs on the server (GET .../targets?q=&status=): every page is of matches.
  const search = h("form", { class: "grid", id: "target-search", role: "search", "aria-label": "Search targets" },
    field("Search (name or number)", "search", { kind: "search", maxlength: 100 }),
    field("Status", "status", { kind: "select", options: [["", "any"], "idle", "progressing", "done"] }));
  const holder = h("div", { id: "targets" });
  const pager = h("div", { class: "actions-row" });
  let tokens = [""]; let current = 0;
  const showTargets = async () => {
    const f = search.elements;
    const page = await call("list_outdial_targets", { id }, undefined,
      { page_size: 25, page_token: tokens[current], q: f.search.value.trim(), status: f.status.value });
    tokens[current + 1] = page.next_page_token;
    const filtered = f.search.value.trim() || f.status.value;
    holder.replaceChildren(table([["Name", (t) => link(`#/lists/${id}/targets/${t.id}`, t.name || short(t.id))],
      ["Destination 0", (t) => addr(t.destination_0)], ["Status", (t) => badge(t.status)],
      ["Tries", (t) => [0, 1, 2, 3, 4].map((n) => t[`try_count_${n}`]).join(" / ")]], page.result,
      { caption: `${filtered ? "Matching targets" : "Targets"} (page ${current + 1}, ${page.result.length} shown)`, rowAttrs: (t) => ({ class: "target", "data-id": t.id }) }));
    pager.replaceChildren(
      button("Previous page", () => { current--; guard(showTargets); }, { class: "secondary", disabled: current === 0, id: "prev-page" }),
      button("Next page", () => { current++; guard(showTargets); }, { class: "secondary", disabled: !page.next_page_token, id: "next-page" }));
  };
  let pending = null;
  const restart = () => { tokens = [""]; current = 0; clearTimeout(pending); pending = setTimeout(() => guard(showTargets), 250); };
  search.addEventListener("input", restart);
  search.addEventListener("change", restart);
  search.addEventListener("submit", (ev) => { ev.preventDefault(); restart(); });
  main.replaceChildren(h("h1", {}, `List: ${o.name || o.id}`), h("p", { class: "muted" }, o.detail),
    upload, one, h("h2", {}, "Targets"), search, holder, pager);
  await showTargets();
}

async function target(main, outdialId, id) {
  const [o, t] = await Promise.all([call("get_outdial", { id: outdialId }), call("get_outdial_target", { id: outdialId, target_id: id })]);
  let elig = null; let eligError = "";
  try { elig = await call("get_target_eligibility", { id: outdialId, target_id: id }); } catch (e) { eligError = e.message; }
  let attempts = [];
  if (o.campaign_id !== NIL) {
    attempts = await all("list_campaign_campaigncalls", { id: o.campaign_id }, { target_id: id }, 2000);
  }
  const dests = [0, 1, 2, 3, 4].filter((n) => t[`destination_${n}`]).map((n) => ({ n, a: t[`destination_${n}`], tries: t[`try_count_${n}`] }));
  const answer = elig
    ? h("div", { id: "eligibility" },
      h("p", {}, elig.dialable_now ? "Dialable now." : "Not dialed now because:"),
      table([["Reason", (b) => b.reason], ["Destination", (b) => b.destination_index ?? ""], ["Detail", (b) => b.detail], ["Until", (b) => b.clears_at || "never clears by itself"]], elig.reasons))
    : h("p", { id: "eligibility" }, eligError || "No campaign is attached to this list, so there is no answer.");
  main.replaceChildren(h("h1", {}, `Target: ${t.name || t.id}`),
    h("p", {}, link(`#/lists/${outdialId}`, `Back to ${o.name || "the list"}`), " · status ", badge(t.status)),
    h("section", {}, h("h2", {}, "Destinations"), table([["#", (d) => d.n], ["Address", (d) => addr(d.a)], ["Name", (d) => d.a.name], ["Tries", (d) => d.tries]], dests)),
    h("section", {}, h("h2", {}, "Eligibility"), answer),
    h("section", {}, h("h2", {}, "Calls"), attempts.length
      ? table([["When", (c) => c.tm_create], ["Destination", (c) => addr(c.destination)], ["Try", (c) => c.try_count], ["Status", (c) => badge(c.status)], ["Result", (c) => c.result], ["Reason", (c) => c.hangup_reason]], attempts)
      : h("p", {}, "No calls yet.")),
    h("section", {}, h("h2", {}, "Data"), h("pre", {}, t.data || "(none)")));
}
