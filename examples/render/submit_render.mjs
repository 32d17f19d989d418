// Submit a render to a Renderhouse server, follow it live (SSE), download what it made.
// Node 18+ (fetch, FormData, Blob built in), no build step, no dependencies:
//
//   RENDERHOUSE_URL=http://127.0.0.1:8000 RENDERHOUSE_KEY=rh_... \
//     node examples/render/submit_render.mjs [MODEL.glb] [OUT_DIR]
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.RENDERHOUSE_URL ?? "http://127.0.0.1:8000";
const key = process.env.RENDERHOUSE_KEY;
const model = process.argv[2] ?? join(here, "..", "models", "BoomBox.glb");
const out = resolve(process.argv[3] ?? "render_out");
const auth = { Authorization: `Bearer ${key}` };

async function api(path, init = {}) {
  const r = await fetch(base + path, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
  const body = await r.json();
  if (!r.ok) throw new Error(`${r.status} ${body.error?.code}: ${body.error?.message}`);
  return body;
}

// One SSE stream: blank-line separated events of "id:", "event:" and "data:" lines.
async function follow(jobId, onEvent) {
  let lastId = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    const headers = { ...auth, Accept: "text/event-stream" };
    if (lastId) headers["Last-Event-ID"] = String(lastId);
    const r = await fetch(`${base}/v1/jobs/${jobId}/events`, { headers });
    if (!r.ok) throw new Error(`events: ${r.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of r.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = { data: "" };
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) event.id = Number(line.slice(3).trim());
            else if (line.startsWith("event:")) event.type = line.slice(6).trim();
            else if (line.startsWith("data:")) event.data += line.slice(5).trim();
          }
          if (event.id === undefined) continue; // a keep-alive comment
          lastId = event.id;
          onEvent({ ...event, data: event.data ? JSON.parse(event.data) : {} });
        }
      }
      return; // the server closes the stream after the terminal state
    } catch (err) {
      if (attempt === 4) throw err; // dropped: reconnect from lastId
    }
  }
}

const form = new FormData();
form.append("file", new Blob([await readFile(model)]), "model.glb");
const upload = await api("/v1/uploads", { method: "POST", body: form });

const canon = JSON.parse(await readFile(join(here, "canon.json"), "utf8"));
const logo = await readFile(join(here, canon.logo.image));
canon.logo.image = "data:image/png;base64," + logo.toString("base64");
const brief = (await readFile(join(here, "brief.txt"), "utf8")).trim();

const job = await api("/v1/jobs", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ kind: "render", input: { brief, model: upload.ref, canon } }),
});
console.log(`job ${job.id}: ${job.state}`);
await follow(job.id, (e) => console.log(`  ${e.type}: ${e.data.message ?? e.data.state ?? ""}`));

const done = await api(`/v1/jobs/${job.id}`);
if (done.state !== "succeeded") {
  console.error(`render ${done.state}: ${done.error?.code}: ${done.error?.message}`);
  process.exit(1);
}
await mkdir(out, { recursive: true });
for (const art of await api(`/v1/jobs/${job.id}/artifacts`)) {
  const url = new URL(art.url, base); // signed: no key needed
  const r = await fetch(url);
  if (!r.ok) throw new Error(`download ${art.name}: ${r.status}`);
  await mkdir(dirname(join(out, art.name)), { recursive: true });
  await writeFile(join(out, art.name), Buffer.from(await r.arrayBuffer()));
}
const verdict = done.result.passed ? "on brand" : "off brand";
console.log(`${verdict}, score ${Math.round(done.result.score)}/100; files in ${out}`);
