// Small DOM helpers: elements built with textContent only (no innerHTML of API data).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
// A labelled form control: <label for> + control; `kind` is an input type or "select"/"textarea".
export function field(label, name, { kind = "text", value = "", options = [], help = "", ...rest } = {}) {
  const id = `f-${name.replace(/[^a-z0-9_-]/gi, "-")}-${++uid}`;
  let control;
  if (kind === "select") {
    control = h("select", { id, name, ...rest },
      options.map((o) => { const [v, t] = Array.isArray(o) ? o : [o, o];
        return h("option", { value: v, selected: String(v) === String(value) || undefined }, t); }));
  } else if (kind === "textarea") {
    control = h("textarea", { id, name, rows: 3, ...rest }); control.value = value;
  } else if (kind === "checkbox") {
    control = h("input", { id, name, type: "checkbox", checked: value, ...rest });
  } else {
    control = h("input", { id, name, type: kind, value, ...rest });
  }
  const helpId = help ? `${id}-help` : undefined;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  return h("div", { class: kind === "checkbox" ? "field check" : "field" },
    h("label", { for: id }, label), control, help ? h("small", { id: helpId }, help) : null);
}

export function table(columns, rows, { caption = "", rowAttrs = () => ({}) } = {}) {
  return h("div", { class: "table-wrap" }, h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((r) => h("tr", rowAttrs(r), columns.map(([, cell]) => h("td", {}, cell(r))))))));
}

export function link(href, text) { return h("a", { href }, text); }
export function badge(text) { return h("span", { class: `badge ${text}` }, text); }
export function button(text, onclick, attrs = {}) { return h("button", { type: "button", onclick, ...attrs }, text); }

// Errors and notices go to one live region the screen reader announces.
export function notify(message, kind = "ok") {
  const box = document.getElementById("notice");
  box.className = `notice ${kind}`; box.textContent = message;
}
export function clearNotice() { const b = document.getElementById("notice"); b.className = "notice"; b.textContent = ""; }

export async function guard(work) {
  try { return await work(); } catch (e) { notify(e.message, "error"); return undefined; }
}

export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked : el.type === "number" ? (el.value === "" ? undefined : Number(el.value)) : el.value;
  }
  return out;
}

export function download(name, text, type) {
  const a = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a); a.click(); a.remove();
}

export function toCsv(rows) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

export function addr(a) { return a ? `${a.type}:${a.target}` : ""; }
export const NIL = "00000000-0000-0000-0000-000000000000";
export function short(id) { return id ? id.slice(0, 8) : ""; }
