// The platform's stand-in for the drill's browser check: a tiny web app that reads the restored
// Convex deployment with the REAL npm `convex` ConvexHttpClient (its browser bundle), in the page.
//
//   VITE_CONVEX_URL=http://127.0.0.1:3210 node tests/support/webapp/serve.mjs --port 4173 [--log-env A,B]
//
// Routes: /login, /feed, /courses/<slug> (one page, routed in app.js), /config.js (the Convex URL
// from the environment, as a Vite build would inline it), /convex.js (the bundle), /app.js.
// Without the Convex URL it exits 2 at start, as a misconfigured app would. `--log-env A,B` prints
// those variables at start (the drill must mask secret ones and withhold its credentials); the
// start line names the process group (the drill must stop all of it).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, "..", "npm", "node_modules", "convex", "dist", "browser.bundle.js");
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const port = Number(arg("--port") ?? 4173);
const convexUrl = process.env.VITE_CONVEX_URL;
if (!convexUrl) {
  console.error("VITE_CONVEX_URL is not set: the app has no deployment to talk to");
  process.exit(2);
}
for (const name of (arg("--log-env") ?? "").split(",").filter(Boolean)) console.log(`${name}=${process.env[name]}`);

const js = "text/javascript; charset=utf-8";
const files = {
  "/config.js": [js, () => `window.CONVEX_URL = ${JSON.stringify(convexUrl)};\n`],
  "/convex.js": [js, () => readFileSync(bundle)],
  "/app.js": [js, () => readFileSync(join(here, "app.js"))],
};
const page = /^\/(login|feed|courses\/[^/]+)?$/;

createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const file = files[path];
  if (file) {
    res.writeHead(200, { "Content-Type": file[0] }).end(file[1]());
  } else if (page.test(path)) {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(readFileSync(join(here, "index.html")));
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
  }
  if (!file) console.log(`${req.method} ${path} ${res.statusCode}`);  // pages only: the drill keeps 20 lines
}).listen(port, "127.0.0.1", () => {
  const stat = readFileSync("/proc/self/stat", "utf8");  // Linux: "pid (comm) state ppid pgrp ..."
  const group = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[2];
  console.log(`serving on http://127.0.0.1:${port} (pid ${process.pid}, process group ${group})`);
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
