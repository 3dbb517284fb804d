// The console's entry: sign-in, the hash router and the navigation. Pages are modules that
// export `render(main, ...routeParts)`; each page reads and writes only through api.js.
import { ApiError, auth, signInWithKey, signInWithPassword, signOut } from "./api.js";
import { clearNotice, field, h, notify } from "./ui.js";
import * as lists from "./lists.js";
import * as outplans from "./outplans.js";
import * as campaigns from "./campaigns.js";
import * as calls from "./calls.js";
import * as dnc from "./dnc.js";
import * as webhooks from "./webhooks.js";
import * as keys from "./keys.js";
import * as team from "./team.js";

const PAGES = { lists, outplans, campaigns, calls, dnc, webhooks, keys, team };
const main = document.getElementById("view");

function signInPage() {
  document.getElementById("nav").hidden = true;
  const keyForm = h("form", { class: "panel", id: "key-form", "aria-labelledby": "key-title" },
    h("h2", { id: "key-title" }, "Access key"),
    field("Access key", "key", { kind: "password", autocomplete: "off", required: true }),
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "key-signin" }, "Sign in with key")));
  const userForm = h("form", { class: "panel", id: "user-form", "aria-labelledby": "user-title" },
    h("h2", { id: "user-title" }, "Customer user"),
    field("Username", "username", { kind: "email", autocomplete: "username", required: true }),
    field("Password", "password", { kind: "password", autocomplete: "current-password", required: true }),
    h("div", { class: "actions-row" }, h("button", { type: "submit", id: "user-signin" }, "Sign in")));
  keyForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await signInWithKey(keyForm.elements.key.value.trim()); go("#/campaigns"); }
    catch (e) { notify(e instanceof ApiError && e.http === 401 ? "That access key does not work." : e.message, "error"); }
  });
  userForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await signInWithPassword(userForm.elements.username.value.trim(), userForm.elements.password.value);
      go("#/campaigns");
    } catch (e) {
      notify(e instanceof ApiError && e.http === 401 ? "Wrong username or password." : e.message, "error");
    }
  });
  main.replaceChildren(h("div", { class: "signin" }, h("h1", {}, "Sign in to outdial"), keyForm, userForm));
  keyForm.elements.key.focus();
}

// Each navigation renders into a fresh element, attached only if no later navigation began
// meanwhile (a slow page never paints over the page the user went to next).
let generation = 0;
let cleanup = null;

export async function route() {
  if (!auth.signedIn) { signInPage(); return; }
  document.getElementById("nav").hidden = false;
  const parts = (location.hash.replace(/^#\/?/, "") || "campaigns").split("/").map(decodeURIComponent);
  const page = PAGES[parts[0]] || campaigns;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#/${parts[0]}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const mine = ++generation;
  if (cleanup) { cleanup(); cleanup = null; }
  main.replaceChildren(h("p", { class: "muted" }, "Loading..."));
  const view = h("div", { class: "page" });
  let done;
  try { done = await page.render(view, ...parts.slice(1)); }
  catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.http === 401) { auth.clear(); signInPage(); notify("Signed out: sign in again.", "error"); return; }
    view.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { id: "page-error" }, e.message));
  }
  if (mine !== generation) { if (typeof done === "function") done(); return; }
  cleanup = typeof done === "function" ? done : null;
  main.replaceChildren(view);
  main.focus();
  document.body.dataset.shown = location.hash; // tests wait for the page they asked for
}

function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

// The skip link moves focus without touching the hash (the router owns it).
document.querySelector(".skip").addEventListener("click", (ev) => { ev.preventDefault(); main.focus(); });
window.addEventListener("hashchange", () => { clearNotice(); route(); });
document.getElementById("signout").addEventListener("click", async () => {
  await signOut(); go("");
});
route();
