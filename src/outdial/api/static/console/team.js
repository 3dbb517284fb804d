// Agents and queues (issue 13, operators): agents with their live status (polled every few
// seconds while the page is open), create and edit them (name, username, password, addresses,
// tags, ring method), queues (routing, tags, wait and service timeouts, counts), and tags.
// The agent's own page (agent sign-in) is another module; this one is the operator's view.
import { all, call } from "./api.js";
import { addr, badge, button, field, formValues, guard, h, notify, short, table } from "./ui.js";

const POLL_MS = 3000;
const STATUSES = ["available", "away", "busy", "offline"];

// "tel:+15551234567, sip:ann@example.com" -> [{type, target}, ...]
export function parseAddresses(text) {
  return text.split(/[\s,]+/).filter(Boolean).map((a) => {
    const m = /^(tel|sip|extension):(.+)$/.exec(a);
    return m ? { type: m[1], target: m[2] } : { type: "tel", target: a };
  });
}

function tagChecks(tags, chosen, prefix) {
  return h("fieldset", { class: "tags" }, h("legend", {}, "Tags"),
    tags.length ? tags.map((t) => field(t.name || short(t.id), `${prefix}tag_${t.id}`, { kind: "checkbox", value: chosen.includes(t.id) }))
      : h("p", { class: "muted" }, "No tags yet: make one below."));
}
const chosenTags = (form, tags, prefix) => tags.filter((t) => form.elements[`${prefix}tag_${t.id}`]?.checked).map((t) => t.id);

export async function render(main, which, id) {
  const [tags, queues] = await Promise.all([all("list_tags"), all("list_queues")]);
  const tagName = (tid) => (tags.find((t) => t.id === tid) || {}).name || short(tid);
  if (which === "agents" && id) return editAgent(main, id, tags);

  const agentsBox = h("div", { id: "agents" });
  const drawAgents = async () => {
    const agents = await all("list_agents");
    agentsBox.replaceChildren(table([
      ["Name", (a) => h("a", { href: `#/team/agents/${a.id}` }, a.name || a.username)], ["Username", (a) => a.username],
      ["Status", (a) => badge(a.status)], ["Since", (a) => a.tm_status], ["Ring", (a) => a.ring_method],
      ["Addresses", (a) => a.addresses.map(addr).join(", ")], ["Tags", (a) => a.tag_ids.map(tagName).join(", ")],
      ["Set status", (a) => h("span", { class: "actions-row" }, STATUSES.filter((s) => s !== a.status).map((s) =>
        button(s, () => guard(async () => { await call("update_agent_status", { id: a.id }, { status: s }); await drawAgents(); }),
          { class: "secondary", "aria-label": `Set ${a.username} ${s}` })))]],
    agents, { caption: `Agents (live, every ${POLL_MS / 1000} s)`, rowAttrs: (a) => ({ class: "agent", "data-id": a.id, "data-status": a.status }) }));
  };

  const agentForm = h("form", { class: "panel", id: "agent-form", "aria-labelledby": "a-title" }, h("h2", { id: "a-title" }, "New agent"),
    h("div", { class: "grid" }, field("Username", "username", { required: true, maxlength: 254 }), field("Password", "password", { kind: "password", autocomplete: "new-password", required: true }),
      field("Name", "name"), field("Ring method", "ring_method", { kind: "select", options: ["ringall", "linear"] }),
      field("Addresses", "addresses", { help: "tel:+15551234567, sip:ann@example.com (comma separated)" })),
    tagChecks(tags, [], "a-"), h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create agent")));
  agentForm.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(agentForm);
    await call("create_agent", {}, { username: v.username, password: v.password, name: v.name, ring_method: v.ring_method,
      addresses: parseAddresses(v.addresses), tag_ids: chosenTags(agentForm, tags, "a-") });
    notify("Agent created."); agentForm.reset(); await drawAgents();
  }); });

  const queueForm = h("form", { class: "panel", id: "queue-form", "aria-labelledby": "q-title" }, h("h2", { id: "q-title" }, "New queue"),
    h("div", { class: "grid" }, field("Name", "name", { required: true }), field("Routing", "routing_method", { kind: "select", options: ["random", "longest-idle"] }),
      field("Wait timeout (ms)", "wait_timeout", { kind: "number", min: 0, value: 60000 }), field("Service timeout (ms)", "service_timeout", { kind: "number", min: 0, value: 600000 })),
    tagChecks(tags, [], "q-"), h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create queue")));
  queueForm.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(queueForm);
    await call("create_queue", {}, { name: v.name, routing_method: v.routing_method, wait_timeout: v.wait_timeout, service_timeout: v.service_timeout,
      tag_ids: chosenTags(queueForm, tags, "q-") });
    notify("Queue created."); await render(main);
  }); });

  const tagForm = h("form", { class: "panel", id: "tag-form", "aria-labelledby": "t-title" }, h("h2", { id: "t-title" }, "New tag"),
    h("div", { class: "grid" }, field("Tag name", "name", { required: true }), field("Tag detail", "detail")),
    h("div", { class: "actions-row" }, h("button", { type: "submit" }, "Create tag")));
  tagForm.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    await call("create_tag", {}, formValues(tagForm)); notify("Tag created."); await render(main);
  }); });

  main.replaceChildren(h("h1", {}, "Agents and queues"), h("h2", {}, "Agents"), agentsBox, agentForm,
    h("h2", {}, "Queues"),
    table([["Name", (q) => q.name], ["Routing", (q) => q.routing_method], ["Tags", (q) => q.tag_ids.map(tagName).join(", ")],
      ["Wait (ms)", (q) => q.wait_timeout], ["Service (ms)", (q) => q.service_timeout],
      ["Incoming", (q) => q.total_incoming_count], ["Serviced", (q) => q.total_serviced_count], ["Abandoned", (q) => q.total_abandoned_count],
      ["", (q) => button("Delete", () => guard(async () => { await call("delete_queue", { id: q.id }); notify("Queue deleted."); await render(main); }), { class: "danger", "aria-label": `Delete queue ${q.name}` })]],
    queues, { caption: "Queues", rowAttrs: (q) => ({ class: "queue", "data-id": q.id }) }), queueForm,
    h("h2", {}, "Tags"),
    table([["Name", (t) => t.name], ["Detail", (t) => t.detail],
      ["", (t) => button("Delete", () => guard(async () => { await call("delete_tag", { id: t.id }); notify("Tag deleted."); await render(main); }), { class: "danger", "aria-label": `Delete tag ${t.name}` })]],
    tags, { caption: "Tags", rowAttrs: (t) => ({ class: "tag", "data-id": t.id }) }), tagForm);
  await drawAgents();
  const timer = setInterval(() => guard(drawAgents), POLL_MS);
  return () => clearInterval(timer);
}

async function editAgent(main, id, tags) {
  const a = await call("get_agent", { id });
  const form = h("form", { class: "panel", id: "agent-edit", "aria-labelledby": "ae-title" }, h("h2", { id: "ae-title" }, "Edit"),
    h("div", { class: "grid" }, field("Name", "name", { value: a.name }), field("Detail", "detail", { value: a.detail }),
      field("Ring method", "ring_method", { kind: "select", options: ["ringall", "linear"], value: a.ring_method }),
      field("Addresses", "addresses", { value: a.addresses.map(addr).join(", "), help: "tel:+15551234567, sip:ann@example.com" }),
      field("New password", "password", { kind: "password", autocomplete: "new-password", help: "leave empty to keep it" })),
    tagChecks(tags, a.tag_ids, "e-"), h("div", { class: "actions-row" }, h("button", { type: "submit", id: "save-agent" }, "Save agent"),
      button("Delete agent", () => guard(async () => { await call("delete_agent", { id }); location.hash = "#/team"; }), { class: "danger" })));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); guard(async () => {
    const v = formValues(form);
    await call("update_agent", { id }, { name: v.name, detail: v.detail, ring_method: v.ring_method });
    await call("update_agent_addresses", { id }, { addresses: parseAddresses(v.addresses) });
    await call("update_agent_tag_ids", { id }, { tag_ids: chosenTags(form, tags, "e-") });
    if (v.password) await call("update_agent_password", { id }, { password: v.password });
    notify("Agent saved."); location.hash = "#/team";
  }); });
  main.replaceChildren(h("h1", {}, `Agent: ${a.name || a.username}`),
    h("p", {}, h("a", { href: "#/team" }, "Back to agents and queues"), " · status ", badge(a.status)), form);
}
