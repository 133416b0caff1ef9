// Drive the REAL npm `convex` ConvexHttpClient (pinned in package.json) against a deployment URL.
//
// Used by tests/convex/test_npm_client.py as a second opinion on tests/support/convex_server.py.
//
// Input: one JSON object, as argv[2] or on stdin:
//   {
//     "url": "http://127.0.0.1:1234",          // deployment URL (validated by the client as usual)
//     "adminKey": "prod:x|secret",             // optional: client.setAdminAuth(adminKey, actingAs)
//     "actingAs": {"issuer": "...", "subject": "..."},   // optional acting identity
//     "auth": "jwt",                           // optional: client.setAuth(auth) (ignored with adminKey)
//     "calls": [{"kind": "query"|"mutation"|"action", "path": "mod:fn", "args": {...}}]
//   }
// `args` are convex_encoded_json ({"$integer": base64 LE int64}, {"$bytes": base64}) and are decoded
// with jsonToConvex before the call, so the client receives real BigInt / ArrayBuffer values and
// has to encode them again itself.
//
// Output: one JSON line per call, in order:
//   {"index", "kind", "path", "ok": true, "value": <convexToJson(result)>, "types": <type tree>, "http": [...]}
//   {"index", "kind", "path", "ok": false, "error": {"name", "message", "convexError", "data"?}, "http": [...]}
// `types` shows what the client decoded the result to ("bigint", "ArrayBuffer", "number", ...).
// `http` lists what went over the wire (recorded by a pass-through fetch given to the client):
// method, url, request headers, request body, response status.
import { readFileSync } from "node:fs";
import { ConvexHttpClient } from "convex/browser";
import { ConvexError, convexToJson, jsonToConvex } from "convex/values";

function readRequest() {
  const raw = process.argv.length > 2 ? process.argv[2] : readFileSync(0, "utf8");
  return JSON.parse(raw);
}

function typeTree(v) {
  if (v === null) return "null";
  if (v instanceof ArrayBuffer) return "ArrayBuffer";
  if (Array.isArray(v)) return v.map(typeTree);
  if (typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeTree(x)]));
  }
  return typeof v;
}

function encodeOrString(v) {
  try {
    return convexToJson(v);
  } catch {
    return String(v);
  }
}

function headersObject(h) {
  if (!h) return {};
  if (typeof Headers !== "undefined" && h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  return { ...h };
}

async function main() {
  const req = readRequest();
  let exchanges = [];
  const recordingFetch = async (url, init = {}) => {
    const entry = {
      method: init.method ?? "GET",
      url: String(url),
      headers: headersObject(init.headers),
      body: typeof init.body === "string" ? init.body : null,
      status: null,
    };
    exchanges.push(entry);
    const response = await fetch(url, init);
    entry.status = response.status;
    return response;
  };

  const client = new ConvexHttpClient(req.url, { logger: false, fetch: recordingFetch });
  if (req.adminKey !== undefined && req.adminKey !== null) {
    client.setAdminAuth(req.adminKey, req.actingAs ?? undefined);
  } else if (req.auth) {
    client.setAuth(req.auth);
  }

  for (const [index, call] of (req.calls ?? []).entries()) {
    exchanges = [];
    const out = { index, kind: call.kind, path: call.path };
    try {
      const args = call.args === undefined ? undefined : jsonToConvex(call.args);
      let value;
      if (call.kind === "query") value = await client.query(call.path, args);
      else if (call.kind === "mutation") value = await client.mutation(call.path, args);
      else if (call.kind === "action") value = await client.action(call.path, args);
      else throw new Error(`unknown call kind ${JSON.stringify(call.kind)}`);
      Object.assign(out, { ok: true, value: convexToJson(value), types: typeTree(value) });
    } catch (err) {
      const isConvexError = err instanceof ConvexError || err?.name === "ConvexError";
      const error = { name: err?.name ?? "Error", message: String(err?.message ?? err), convexError: isConvexError };
      if (isConvexError) error.data = encodeOrString(err.data);
      Object.assign(out, { ok: false, error });
    }
    out.http = exchanges;
    process.stdout.write(JSON.stringify(out) + "\n");
  }
}

main().catch((err) => {
  process.stderr.write(`http_client.mjs: ${err?.stack ?? err}\n`);
  process.exit(2);
});
