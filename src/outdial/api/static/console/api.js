// The console's API client: every call goes through one table of the REST API's operations,
// named by their OpenAPI operationId. tests/acceptance/test_console_api.py holds this table
// equal to the OpenAPI document the server serves (method and path of every operation), so
// the console cannot drift from the contract. `optional` operations belong to other work
// (login, streamed import, access keys) and are used only when the server has them.
export const OPERATIONS = {
  create_outdial: ["POST", "/outdials"],
  list_outdials: ["GET", "/outdials"],
  get_outdial: ["GET", "/outdials/{id}"],
  update_outdial: ["PUT", "/outdials/{id}"],
  delete_outdial: ["DELETE", "/outdials/{id}"],
  create_outdial_target: ["POST", "/outdials/{id}/targets"],
  create_outdial_targets_bulk: ["POST", "/outdials/{id}/targets_bulk"],
  list_outdial_targets: ["GET", "/outdials/{id}/targets"],
  get_outdial_target: ["GET", "/outdials/{id}/targets/{target_id}"],
  delete_outdial_target: ["DELETE", "/outdials/{id}/targets/{target_id}"],
  get_target_eligibility: ["GET", "/outdials/{id}/targets/{target_id}/eligibility"],
  create_outplan: ["POST", "/outplans"],
  list_outplans: ["GET", "/outplans"],
  get_outplan: ["GET", "/outplans/{id}"],
  update_outplan: ["PUT", "/outplans/{id}"],
  update_outplan_dial_info: ["PUT", "/outplans/{id}/dial_info"],
  delete_outplan: ["DELETE", "/outplans/{id}"],
  create_campaign: ["POST", "/campaigns"],
  list_campaigns: ["GET", "/campaigns"],
  get_campaign: ["GET", "/campaigns/{id}"],
  update_campaign: ["PUT", "/campaigns/{id}"],
  delete_campaign: ["DELETE", "/campaigns/{id}"],
  update_campaign_status: ["PUT", "/campaigns/{id}/status"],
  update_campaign_actions: ["PUT", "/campaigns/{id}/actions"],
  update_campaign_resource_info: ["PUT", "/campaigns/{id}/resource_info"],
  list_campaign_campaigncalls: ["GET", "/campaigns/{id}/campaigncalls"],
  get_campaign_stats: ["GET", "/campaigns/{id}/stats"],
  get_campaign_preview: ["GET", "/campaigns/{id}/preview"],
  get_campaign_compliance: ["GET", "/campaigns/{id}/compliance"],
  get_campaigncall: ["GET", "/campaigncalls/{id}"],
  list_campaigncalls: ["GET", "/campaigncalls"],
  list_recordings: ["GET", "/recordings"],
  get_recording_file: ["GET", "/recordings/{id}/file"],
  create_dnclist: ["POST", "/dnclists"],
  list_dnclists: ["GET", "/dnclists"],
  get_dnclist: ["GET", "/dnclists/{id}"],
  delete_dnclist: ["DELETE", "/dnclists/{id}"],
  create_dnclist_entry: ["POST", "/dnclists/{id}/entries"],
  create_dnclist_entries_bulk: ["POST", "/dnclists/{id}/entries_bulk"],
  list_dnclist_entries: ["GET", "/dnclists/{id}/entries"],
  delete_dnclist_entry: ["DELETE", "/dnclists/{id}/entries/{entry_id}"],
  get_customer: ["GET", "/customers/{id}"],
  get_own_customer: ["GET", "/customer"],
  update_customer: ["PUT", "/customers/{id}"],
  rotate_webhook_secret: ["POST", "/customers/{id}/webhook_secret"],
  list_webhook_deliveries: ["GET", "/webhook_deliveries"],
  replay_events: ["POST", "/events/replay"],
  stream_events: ["GET", "/events"],
  list_accesskeys: ["GET", "/accesskeys"],
  create_accesskey: ["POST", "/accesskeys"],
  update_accesskey: ["PUT", "/accesskeys/{id}"],
  delete_accesskey: ["DELETE", "/accesskeys/{id}"],
  list_tags: ["GET", "/tags"],
  create_tag: ["POST", "/tags"],
  delete_tag: ["DELETE", "/tags/{id}"],
  list_agents: ["GET", "/agents"],
  create_agent: ["POST", "/agents"],
  get_agent: ["GET", "/agents/{id}"],
  update_agent: ["PUT", "/agents/{id}"],
  update_agent_addresses: ["PUT", "/agents/{id}/addresses"],
  update_agent_tag_ids: ["PUT", "/agents/{id}/tag_ids"],
  update_agent_password: ["PUT", "/agents/{id}/password"],
  update_agent_status: ["PUT", "/agents/{id}/status"],
  delete_agent: ["DELETE", "/agents/{id}"],
  list_queues: ["GET", "/queues"],
  create_queue: ["POST", "/queues"],
  update_queue: ["PUT", "/queues/{id}"],
  delete_queue: ["DELETE", "/queues/{id}"],
};
export const OPTIONAL = {
  login: ["POST", "/login"],
  logout: ["POST", "/logout"],
  import_outdial_targets: ["POST", "/outdials/{id}/targets_import"],
};
const BASE = "/v1.0";
const STORE = "outdial-key"; // the dashboard reads the same key: one sign-in for both
const SESSION = "outdial-session";

export class ApiError extends Error {
  constructor(http, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${http}`);
    this.http = http; this.reason = e.reason || ""; this.status = e.status || ""; this.body = body;
  }
}

// Credentials: an access key (sent as a Bearer header) or a customer user's session (an
// HttpOnly cookie the browser sends itself; writes carry the CSRF token it answered).
export const auth = {
  get key() { return sessionStorage.getItem(STORE) || ""; },
  get session() { try { return JSON.parse(sessionStorage.getItem(SESSION) || "null"); } catch { return null; } },
  get signedIn() { return Boolean(this.key || this.session); },
  useKey(key) { sessionStorage.setItem(STORE, key); sessionStorage.removeItem(SESSION); },
  useSession(s) { sessionStorage.setItem(SESSION, JSON.stringify(s)); sessionStorage.removeItem(STORE); },
  clear() { sessionStorage.removeItem(STORE); sessionStorage.removeItem(SESSION); },
  headers(method) {
    const h = {};
    if (this.key) h.Authorization = `Bearer ${this.key}`;
    else if (this.session && method !== "GET") h["X-CSRF-Token"] = this.session.csrf_token;
    return h;
  },
  // For URLs the browser fetches itself (audio, the event stream): the key as `token`.
  query() { return this.key ? `token=${encodeURIComponent(this.key)}` : ""; },
};

export function url(op, params = {}, query = {}) {
  const [, path] = OPERATIONS[op] || OPTIONAL[op];
  const filled = path.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return `${BASE}${filled}${s ? `?${s}` : ""}`;
}

export function browserUrl(op, params = {}, query = {}) {
  const u = url(op, params, query); const q = auth.query();
  return q ? `${u}${u.includes("?") ? "&" : "?"}${q}` : u;
}

export async function call(op, params = {}, body = undefined, query = {}) {
  const [method] = OPERATIONS[op] || OPTIONAL[op];
  const headers = auth.headers(method);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(url(op, params, query), {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// Every page of a list (bounded: `most` rows).
export async function all(op, params = {}, query = {}, most = 10000) {
  const found = []; let token = "";
  do {
    const page = await call(op, params, undefined, { ...query, page_size: 100, page_token: token });
    found.push(...page.result); token = page.next_page_token || "";
  } while (token && found.length < most);
  return found;
}

// A route the server does not have answers 404 ROUTE_NOT_FOUND (or 405).
export const missingRoute = (e) => e instanceof ApiError &&
  ((e.http === 404 && e.reason === "ROUTE_NOT_FOUND") || e.http === 405);

export async function signInWithKey(key) {
  auth.useKey(key);
  try { await call("list_campaigns", {}, undefined, { page_size: 1 }); }
  catch (e) { auth.clear(); throw e; }
}

export async function signInWithPassword(username, password) {
  const r = await fetch(url("login"), {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data);
  auth.useSession({ csrf_token: data.csrf_token, customer_id: data.customer_id, username: data.username });
  return data;
}

export async function signOut() {
  if (auth.session) await call("logout").catch(() => {});
  auth.clear();
}

// The caller's customer id: the session says it; with an access key, GET /v1.0/customer does.
export async function customerId() {
  if (auth.session && auth.session.customer_id) return auth.session.customer_id;
  const me = await call("get_own_customer").catch(() => null);
  return me && me.id ? me.id : "";
}
