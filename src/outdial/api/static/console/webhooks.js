// Webhooks: the customer's URL and method, a new signing secret, the latest deliveries and
// a replay from an event id (the retry: the events are delivered again, in order).
import { call, customerId } from "./api.js";
import { badge, button, field, guard, h, notify, table } from "./ui.js";

export async function render(main) {
  const me = await customerId();
  const idField = field("Customer id", "customer_id", { value: me, required: true, help: "the customer your key or sign-in belongs to" });
  const idOf = () => idField.querySelector("input").value.trim();
  const form = h("form", { class: "panel", id: "webhook-form", "aria-labelledby": "wh-title" }, h("h2", { id: "wh-title" }, "Where events go"),
    h("div", { class: "grid" }, idField, field("Webhook URL", "webhook_uri", { kind: "url", help: "http(s); empty turns webhooks off" }),
      field("Method", "webhook_method", { kind: "select", options: ["POST", "PUT"] })),
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "save-webhook" }, "Save"),
      button("Rotate signing secret", () => guard(rotate), { id: "rotate", class: "secondary" })));
  const secret = h("p", { id: "secret", role: "status" });
  const deliveries = h("div", { id: "deliveries" });
  const load = async () => {
    if (idOf()) {
      const c = await call("get_customer", { id: idOf() });
      form.elements.webhook_uri.value = c.webhook_uri || ""; form.elements.webhook_method.value = c.webhook_method || "POST";
    }
    const found = (await call("list_webhook_deliveries", {}, undefined, { page_size: 50 })).result;
    deliveries.replaceChildren(table([["When", (d) => d.tm_create], ["Event", (d) => d.event_id], ["Attempt", (d) => d.attempt], ["URL", (d) => d.uri],
      ["HTTP", (d) => d.status_code || ""], ["OK", (d) => badge(String(d.ok))], ["Error", (d) => d.error],
      ["", (d) => button("Deliver again from here", () => guard(() => replay(d.event_id)), { class: "secondary", "aria-label": `Deliver again from event ${d.event_id}` })]],
    found, { caption: "Latest deliveries", rowAttrs: (d) => ({ class: "delivery" }) }));
  };
  const rotate = async () => {
    const c = await call("rotate_webhook_secret", { id: idOf() });
    secret.textContent = `New signing secret (shown once): ${c.webhook_secret || ""}`;
  };
  const replay = async (eventId) => {
    const r = await call("replay_events", {}, { from_event_id: Number(eventId) });
    notify(`Replay queued: ${JSON.stringify(r)}`);
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const c = await call("update_customer", { id: idOf() }, { webhook_uri: form.elements.webhook_uri.value.trim(), webhook_method: form.elements.webhook_method.value });
    notify("Webhook saved."); if (c.webhook_secret) secret.textContent = `Signing secret (shown once): ${c.webhook_secret}`;
    await load();
  }); });
  const replayForm = h("form", { class: "panel", id: "replay-form", "aria-labelledby": "rp-title" }, h("h2", { id: "rp-title" }, "Deliver again"),
    field("From event id", "from_event_id", { kind: "number", min: 0, required: true }),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Replay")));
  replayForm.addEventListener("submit", (ev) => { ev.preventDefault(); guard(() => replay(replayForm.elements.from_event_id.value)); });
  main.replaceChildren(h("h1", {}, "Webhooks"), form, secret, replayForm, h("h2", {}, "Deliveries"), deliveries);
  await guard(load);
}
