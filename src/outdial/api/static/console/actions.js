// The campaign's actions as a list of cards, one option form per action type (the options
// of domain/action_options.py and VoIPBIN's bin-flow-manager). Types without a form here
// (branch, condition_*, goto, ...) keep their option as JSON in a text box.
import { button, field, h } from "./ui.js";

// [key, kind, label, choices | help]
export const OPTION_FORMS = {
  talk: [["text", "textarea", "Text to speak"], ["language", "text", "Language", "such as en-US"], ["voice_id", "text", "Voice"],
    ["provider", "text", "Provider"], ["digits_handle", "select", "On a key press", ["", "next"]], ["async", "checkbox", "Do not wait for the end"]],
  play: [["stream_urls", "lines", "Audio URLs", "one http(s) URL or uploaded media per line"]],
  sleep: [["duration", "number", "Duration (ms)"]],
  hangup: [["reason", "text", "Reason"]],
  amd: [["machine_handle", "select", "On a machine", ["", "hangup", "continue"]], ["wait_for_beep", "checkbox", "Wait for the beep"], ["async", "checkbox", "Detect in the background"]],
  digits_receive: [["duration", "number", "Wait (ms)"], ["key", "text", "Finish keys", "such as #"], ["length", "number", "Digits"]],
  digits_send: [["digits", "text", "Digits"], ["duration", "number", "Tone length (ms)", "100-1000"], ["interval", "number", "Gap (ms)"]],
  recording_start: [["format", "select", "Format", ["", "wav"]], ["duration", "number", "Longest (s)"], ["end_of_silence", "number", "Stop after silence (s)"],
    ["end_of_key", "text", "Stop on key", "none, any or one key"], ["beep_start", "checkbox", "Beep first"]],
  recording_stop: [], answer: [], beep: [], echo: [],
  variable_set: [["key", "text", "Variable"], ["value", "text", "Value"]],
  webhook_send: [["uri", "text", "URL"], ["method", "select", "Method", ["", "POST", "GET", "PUT", "DELETE"]], ["data_type", "text", "Content type"],
    ["data", "textarea", "Body"], ["sync", "checkbox", "Wait for the answer"]],
};
const OTHER = ["branch", "condition_call_digits", "condition_call_status", "condition_datetime", "condition_variable", "goto",
  "stop", "empty", "mute", "queue_join", "connect", "transcribe_start", "transcribe_stop", "external_media_start", "external_media_stop"];
export const TYPES = [...Object.keys(OPTION_FORMS), ...OTHER];

function optionFields(type, option, n) {
  const spec = OPTION_FORMS[type];
  if (!spec) {
    return [field("Option (JSON)", `a${n}-json`, { kind: "textarea", value: JSON.stringify(option || {}, null, 1), help: "this type has no form yet" })];
  }
  return spec.map(([key, kind, label, extra]) => {
    const value = option ? option[key] : undefined;
    const name = `a${n}-${key}`;
    if (kind === "select") return field(label, name, { kind, value: value ?? "", options: extra.map((c) => [c, c || "(default)"]) });
    if (kind === "lines") return field(label, name, { kind: "textarea", value: (value || []).join("\n"), help: extra });
    if (kind === "checkbox") return field(label, name, { kind, value: Boolean(value) });
    return field(label, name, { kind, value: value ?? "", help: typeof extra === "string" ? extra : "", min: kind === "number" ? 0 : undefined });
  });
}

function readOption(type, card, n) {
  const spec = OPTION_FORMS[type]; const el = (k) => card.querySelector(`[name="a${n}-${k}"]`);
  if (!spec) {
    const text = el("json").value.trim();
    try { return text ? JSON.parse(text) : {}; } catch { throw new Error(`action ${n + 1} (${type}): the option is not valid JSON`); }
  }
  const out = {};
  for (const [key, kind] of spec) {
    const c = el(key);
    if (kind === "checkbox") { if (c.checked) out[key] = true; }
    else if (kind === "number") { if (c.value !== "") out[key] = Number(c.value); }
    else if (kind === "lines") { const v = c.value.split(/\s+/).filter(Boolean); if (v.length) out[key] = v; }
    else if (c.value !== "") out[key] = c.value;
  }
  return out;
}

// An editor bound to a list of actions; `value()` gives the list to send.
export function actionsEditor(initial = []) {
  let actions = initial.map((a) => ({ id: a.id, type: a.type, option: a.option || {} }));
  const list = h("ol", { class: "actions-list", "aria-label": "Actions, in order" });
  const root = h("fieldset", { id: "actions-editor" }, h("legend", {}, "Actions (run on the answered call, in order)"), list);
  const sync = () => { actions = actions.map((a, n) => ({ ...a, option: tryRead(a, n) })); };
  const tryRead = (a, n) => { const card = list.children[n]; if (!card) return a.option; try { return readOption(a.type, card, n); } catch { return a.option; } };
  const draw = () => {
    list.replaceChildren(...actions.map((a, n) => {
      const type = field(`Action ${n + 1} type`, `a${n}-type`, { kind: "select", value: a.type, options: TYPES });
      type.querySelector("select").addEventListener("change", (ev) => { sync(); actions[n] = { ...actions[n], type: ev.target.value, option: {} }; draw(); list.children[n].querySelector("select").focus(); });
      return h("li", { class: "action", "data-type": a.type }, h("div", { class: "grid" }, type, optionFields(a.type, a.option, n)),
        h("div", { class: "actions-row" },
          button("Move up", () => { sync(); [actions[n - 1], actions[n]] = [actions[n], actions[n - 1]]; draw(); }, { class: "secondary", disabled: n === 0, "aria-label": `Move action ${n + 1} up` }),
          button("Move down", () => { sync(); [actions[n + 1], actions[n]] = [actions[n], actions[n + 1]]; draw(); }, { class: "secondary", disabled: n === actions.length - 1, "aria-label": `Move action ${n + 1} down` }),
          button("Remove", () => { sync(); actions.splice(n, 1); draw(); }, { class: "danger", "aria-label": `Remove action ${n + 1}` })));
    }));
  };
  const add = field("Add an action", "add-type", { kind: "select", value: "talk", options: TYPES });
  root.append(h("div", { class: "actions-row" }, add,
    button("Add action", () => { sync(); actions.push({ type: add.querySelector("select").value, option: {} }); draw(); }, { id: "add-action", class: "secondary" })));
  draw();
  return {
    root,
    value() {
      return actions.map((a, n) => {
        const out = { type: a.type, option: readOption(a.type, list.children[n], n) };
        if (a.id) out.id = a.id;
        return out;
      });
    },
  };
}
