// Access keys: listed, created and revoked over /v1.0/accesskeys when the server has that
// route; today's server makes keys only with the CLI, which this page then explains.
import { call, missingRoute } from "./api.js";
import { button, field, formValues, guard, h, notify, table } from "./ui.js";

export async function render(main) {
  let keys;
  try { keys = (await call("list_accesskeys", {}, undefined, { page_size: 100 })).result; }
  catch (e) {
    if (!missingRoute(e)) throw e;
    main.replaceChildren(h("h1", {}, "Access keys"),
      h("section", { id: "keys-cli" }, h("p", {}, "This server has no REST route for access keys yet. An operator makes and revokes them on the server:"),
        h("pre", {}, "outdial accesskeys create --customer-id CUSTOMER_ID")));
    return;
  }
  const form = h("form", { class: "panel", id: "key-create", "aria-labelledby": "k-title" }, h("h2", { id: "k-title" }, "New access key"),
    h("div", { class: "grid" }, field("Name", "name", { required: true }), field("Detail", "detail")),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create key")));
  const shown = h("p", { id: "new-token", role: "status" });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const k = await call("create_accesskey", {}, formValues(form));
    shown.textContent = `New key (shown once): ${k.token}`; await render(main); main.prepend(shown);
  }); });
  main.replaceChildren(h("h1", {}, "Access keys"), form, shown,
    table([["Name", (k) => k.name], ["Detail", (k) => k.detail], ["Expires", (k) => k.tm_expire || ""], ["Created", (k) => k.tm_create],
      ["", (k) => button("Revoke", () => guard(async () => { await call("delete_accesskey", { id: k.id }); notify("Key revoked."); await render(main); }), { class: "danger", "aria-label": `Revoke ${k.name}` })]],
    keys, { caption: "Keys of this customer" }));
}
