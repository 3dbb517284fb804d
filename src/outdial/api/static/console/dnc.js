// Do-not-call lists: create, add and remove numbers, upload a file of numbers (one E.164
// number per line, or a CSV whose first column is the number) in all-or-nothing chunks.
import { all, call } from "./api.js";
import { button, field, formValues, guard, h, link, notify, short, table } from "./ui.js";

export async function render(main, id) {
  if (id) return dnclist(main, id);
  const page = await call("list_dnclists", {}, undefined, { page_size: 100 });
  const form = h("form", { class: "panel", id: "dnclist-form", "aria-labelledby": "dnc-new" },
    h("h2", { id: "dnc-new" }, "New do-not-call list"),
    h("div", { class: "grid" }, field("Name", "name", { required: true, maxlength: 255 }), field("Detail", "detail")),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create list")));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const d = await call("create_dnclist", {}, formValues(form)); location.hash = `#/dnc/${d.id}`;
  }); });
  main.replaceChildren(h("h1", {}, "Do-not-call lists"),
    table([["Name", (d) => link(`#/dnc/${d.id}`, d.name || short(d.id))], ["Detail", (d) => d.detail], ["Created", (d) => d.tm_create]],
      page.result, { caption: "Numbers on these lists are never dialed", rowAttrs: (d) => ({ class: "dnclist", "data-id": d.id }) }), form);
}

export function numbersOf(text) {
  return text.split(/\r?\n/).map((l) => l.split(",")[0].trim().replace(/^"|"$/g, ""))
    .filter((n, i) => n && !(i === 0 && /^[a-z_]+$/i.test(n)));
}

async function dnclist(main, id) {
  const d = await call("get_dnclist", { id });
  const holder = h("div", { id: "dnc-entries" });
  const show = async () => {
    const entries = await all("list_dnclist_entries", { id }, {}, 2000);
    holder.replaceChildren(table([["Number", (e) => e.number], ["Until", (e) => e.expire || "always"], ["Detail", (e) => e.detail],
      ["", (e) => button("Remove", () => guard(async () => { await call("delete_dnclist_entry", { id, entry_id: e.id }); notify(`${e.number} removed.`); await show(); }),
        { class: "danger", "aria-label": `Remove ${e.number}` })]],
    entries, { caption: `${entries.length} numbers`, rowAttrs: (e) => ({ class: "dnc-entry", "data-number": e.number }) }));
  };
  const add = h("form", { class: "panel", id: "dnc-add", "aria-labelledby": "dnc-add-title" },
    h("h2", { id: "dnc-add-title" }, "Add a number"),
    h("div", { class: "grid" }, field("Number", "number", { required: true, help: "E.164, such as +12125550100" }), field("Detail", "detail")),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Add number")));
  add.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    await call("create_dnclist_entry", { id }, formValues(add)); notify("Number added."); add.reset(); await show();
  }); });
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const up = h("form", { class: "panel", id: "dnc-upload", "aria-labelledby": "dnc-up-title" },
    h("h2", { id: "dnc-up-title" }, "Upload numbers"),
    field("File of numbers", "file", { kind: "file", accept: ".txt,.csv", required: true, help: "one number per line, or a CSV with the number first" }),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Upload")), bar);
  up.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const numbers = numbersOf(await up.elements.file.files[0].text());
    for (let i = 0; i < numbers.length; i += 10000) {
      await call("create_dnclist_entries_bulk", { id }, numbers.slice(i, i + 10000).map((number) => ({ number })));
      bar.value = Math.round((100 * Math.min(i + 10000, numbers.length)) / numbers.length);
    }
    notify(`Added ${numbers.length} numbers.`); await show();
  }); });
  main.replaceChildren(h("h1", {}, `Do-not-call: ${d.name || d.id}`), add, up, holder);
  await show();
}
