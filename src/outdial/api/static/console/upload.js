// Uploading a CSV or JSON Lines file of targets from the browser. The streamed
// `POST /outdials/{id}/targets_import` is used when the server has it (all or nothing on the
// server, every bad row reported); without it the file is parsed here and sent to
// `targets_bulk` in chunks; a chunk the server refuses rolls the earlier chunks back (their
// targets are deleted) so a bad file leaves the list as it was.
import { ApiError, OPTIONAL, auth, call, missingRoute, url } from "./api.js";

// chunk: rows per targets_bulk request (at most 10,000); streamed: false sends chunks of
// targets_bulk even where the server has targets_import (as a server without it is used).
export const settings = { chunk: 1000, streamed: true };
const FIELDS = new Set(["name", "detail", "data", "timezone", "destination_0", "destination_1",
  "destination_2", "destination_3", "destination_4"]);

export const isJsonLines = (file) => /\.(jsonl|ndjson|json)$/i.test(file.name);

// RFC 4180 CSV: yields {line, cells} with the 1-based line each record starts on.
export function* csvRecords(text) {
  let cells = [], cell = "", quoted = false, line = 1, start = 1, i = 0, any = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      if (c === "\n") line++;
      cell += c; i++; continue;
    }
    if (c === '"') { quoted = true; any = true; i++; continue; }
    if (c === ",") { cells.push(cell); cell = ""; any = true; i++; continue; }
    if (c === "\r" && text[i + 1] === "\n") i++;
    if (c === "\n" || c === "\r") {
      cells.push(cell); if (any || cell !== "") yield { line: start, cells };
      cells = []; cell = ""; any = false; line++; start = line; i++; continue;
    }
    cell += c; any = true; i++;
  }
  cells.push(cell); if (any || cell !== "") yield { line: start, cells };
}

function destinationCell(value, key, errors, line) {
  const t = value.trim();
  if (!t.startsWith("{")) return t || undefined;
  try { return JSON.parse(t); } catch { errors.push({ line, field: key, message: "is not a valid JSON Address object" }); return undefined; }
}

// The file as bulk items: {rows: [{line, item}], errors: [{line, field, message}]}.
export function parseTargets(text, jsonLines) {
  const rows = [], errors = [];
  if (jsonLines) {
    text.split(/\r?\n/).forEach((raw, n) => {
      const line = n + 1; if (!raw.trim()) return;
      let obj; try { obj = JSON.parse(raw); } catch (e) { errors.push({ line, field: "", message: "is not valid JSON" }); return; }
      if (!obj || typeof obj !== "object" || Array.isArray(obj)) { errors.push({ line, field: "", message: "must be a JSON object" }); return; }
      const unknown = Object.keys(obj).filter((k) => !FIELDS.has(k));
      if (unknown.length) { errors.push({ line, field: unknown.join(", "), message: "unknown field" }); return; }
      rows.push({ line, item: obj });
    });
    return { rows, errors };
  }
  const records = csvRecords(text); const head = records.next();
  if (head.done) return { rows, errors: [{ line: 1, field: "", message: "the file is empty" }] };
  const header = head.value.cells.map((c) => c.trim());
  const unknown = header.filter((c) => !FIELDS.has(c));
  if (unknown.length) return { rows, errors: [{ line: 1, field: unknown.join(", "), message: "unknown column; expected name, detail, data, destination_0..destination_4, timezone" }] };
  for (const { line, cells } of records) {
    if (cells.length > header.length) { errors.push({ line, field: "", message: "has more cells than the header" }); continue; }
    const item = {};
    cells.forEach((v, n) => {
      if (v === "") return;
      const key = header[n];
      item[key] = key.startsWith("destination_") ? destinationCell(v, key, errors, line) : v;
    });
    rows.push({ line, item });
  }
  return { rows, errors };
}

// "item 3: destination_0.target must be ..." or "line 7: destination_0.target ...".
export function rowError(text, lineOf = (n) => n) {
  const m = /^(item|line|row) (\d+): (.*)$/s.exec(text || "");
  if (!m) return { line: "", field: "", message: text };
  const [first, ...rest] = m[3].split(" ");
  // A field is a known one, or a path such as destination_0.target (never a plain word).
  const looksLikeField = rest.length > 0 && /^[a-z_][a-z0-9_.[\]]*$/.test(first) &&
    (FIELDS.has(first) || /[_.[]/.test(first));
  return { line: lineOf(Number(m[2])), field: looksLikeField ? first : "", message: looksLikeField ? rest.join(" ") : m[3] };
}

function importErrors(body) {
  const e = (body && body.error) || {};
  const found = e.errors || e.details || [];
  if (Array.isArray(found) && found.length) {
    return found.map((x) => (typeof x === "string" ? rowError(x) : { line: x.line ?? "", field: x.field ?? "", message: x.message ?? "" }));
  }
  return String(e.message || "").split("\n").map((t) => rowError(t));
}

// The streamed import over XMLHttpRequest, for its upload progress. Resolves with
// {imported} or {errors}; rejects with ApiError (404 ROUTE_NOT_FOUND when the server has none).
function importFile(outdialId, file, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(OPTIONAL.import_outdial_targets[0], url("import_outdial_targets", { id: outdialId }));
    for (const [k, v] of Object.entries(auth.headers("POST"))) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", isJsonLines(file) ? "application/x-ndjson" : "text/csv");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) progress(ev.loaded, ev.total, "sending"); };
    xhr.onerror = () => reject(new Error("the upload failed (network)"));
    xhr.onload = () => {
      let body = {}; try { body = JSON.parse(xhr.responseText); } catch { body = {}; }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ imported: body.imported ?? 0, via: "import" });
      else if (xhr.status === 400) resolve({ errors: importErrors(body), via: "import" });
      else reject(new ApiError(xhr.status, body));
    };
    xhr.send(file);
  });
}

async function bulk(outdialId, text, jsonLines, progress) {
  const { rows, errors } = parseTargets(text, jsonLines);
  if (errors.length) return { errors, via: "bulk" };
  const created = [];
  for (let start = 0; start < rows.length; start += settings.chunk) {
    const part = rows.slice(start, start + settings.chunk);
    try {
      const r = await call("create_outdial_targets_bulk", { id: outdialId }, part.map((x) => x.item));
      created.push(...r.result.map((t) => t.id));
    } catch (e) {
      if (created.length) await rollBack(outdialId, created, progress);
      if (e instanceof ApiError && e.http === 400) {
        return { errors: [rowError(e.message, (n) => (part[n] ? part[n].line : n))], via: "bulk", rolledBack: created.length };
      }
      throw e;
    }
    progress(Math.min(start + settings.chunk, rows.length), rows.length, "rows");
  }
  return { imported: created.length, via: "bulk" };
}

async function rollBack(outdialId, ids, progress) {
  for (let n = 0; n < ids.length; n++) {
    await call("delete_outdial_target", { id: outdialId, target_id: ids[n] });
    if (n % 50 === 0) progress(ids.length - n, ids.length, "undoing");
  }
}

export async function uploadTargets(outdialId, file, progress) {
  if (settings.streamed) {
    try { return await importFile(outdialId, file, progress); }
    catch (e) { if (!missingRoute(e)) throw e; }
  }
  return bulk(outdialId, await file.text(), isJsonLines(file), progress);
}
