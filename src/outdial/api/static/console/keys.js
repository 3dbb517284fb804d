// Access keys over /v1.0/accesskeys: list (name, detail, the token's first characters,
// expiry), create (the token is shown once, here, and never again), rename, revoke. Revoking
// the key this tab signed in with signs the tab out (the server refuses it at once).
import { all, auth, call } from "./api.js";
import { button, field, formValues, guard, h, notify, table } from "./ui.js";

const EXPIRES = [["0", "never"], ["86400", "in 1 day"], ["2592000", "in 30 days"], ["7776000", "in 90 days"], ["31536000", "in 1 year"]];

export async function render(main, shownToken = "") {
  const keys = await all("list_accesskeys", {}, {}, 1000);
  const form = h("form", { class: "panel", id: "key-create", "aria-labelledby": "k-title" }, h("h2", { id: "k-title" }, "New access key"),
    h("div", { class: "grid" }, field("Name", "name", { required: true, maxlength: 255 }), field("Detail", "detail"),
      field("Expires", "expire", { kind: "select", options: EXPIRES, help: "a key made with an expiring key never outlives it" })),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create key")));
  const shown = h("p", { id: "new-token", role: "status" });
  if (shownToken) shown.replaceChildren("New key (shown once, copy it now): ", h("code", { id: "token-value" }, shownToken));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(form);
    const k = await call("create_accesskey", {}, { name: v.name, detail: v.detail, expire: Number(v.expire) });
    await render(main, k.token);
  }); });
  const rename = (k) => guard(async () => {
    const name = prompt(`New name for ${k.name || k.token_prefix}`, k.name);
    if (name === null) return;
    await call("update_accesskey", { id: k.id }, { name }); notify("Key renamed."); await render(main);
  });
  const revoke = (k) => guard(async () => {
    await call("delete_accesskey", { id: k.id });
    if (auth.key && auth.key.startsWith(k.token_prefix) && k.token_prefix) {
      // this tab's own key? the server says so with a 401 on the next call
      try { await call("list_accesskeys", {}, undefined, { page_size: 1 }); } catch (e) { if (e.http === 401) { auth.clear(); location.hash = ""; location.reload(); return; } throw e; }
    }
    notify("Key revoked: it stopped working at once."); await render(main);
  });
  main.replaceChildren(h("h1", {}, "Access keys"), form, shown,
    table([["Name", (k) => k.name], ["Detail", (k) => k.detail], ["Token starts", (k) => h("code", {}, `${k.token_prefix}…`)],
      ["Expires", (k) => k.tm_expire || "never"], ["Created", (k) => k.tm_create],
      ["", (k) => h("span", { class: "actions-row" },
        button("Rename", () => rename(k), { class: "secondary", "aria-label": `Rename ${k.name}` }),
        button("Revoke", () => revoke(k), { class: "danger", "aria-label": `Revoke ${k.name}` }))]],
    keys, { caption: "Keys of this customer (tokens are never shown again)", rowAttrs: (k) => ({ class: "accesskey", "data-id": k.id }) }));
}
