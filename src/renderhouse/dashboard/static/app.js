// Renderhouse dashboard: plain JS against the public API, no build step.
// Untrusted text (job inputs, messages, names) is only ever set with textContent.
// The overview follows GET /v1/system/stream and a job page its /v1/jobs/{id}/events
// (both through keepStreaming in sse.js); only while a stream is down does the overview
// fall back to polling, slowly.
"use strict";

const KEY = "renderhouse.apiKey";
const FALLBACK_POLL_MS = 15000;
const TERMINAL = ["succeeded", "failed", "cancelled"];
const $ = (id) => document.getElementById(id);
let stream = null;
let fallback = null;
let artifactsTimer = null;
let me = null;

function apiKey() { return sessionStorage.getItem(KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + apiKey() }, options.headers || {});
  const resp = await fetch(path, Object.assign({}, options, { headers }));
  if (resp.status === 401) { logout(); throw new Error("unauthorised"); }
  const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
  if (!resp.ok) throw new Error(body?.error?.message || resp.statusText);
  return body;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function fill(list, nodes, empty) {
  list.replaceChildren(...(nodes.length ? nodes : [el("li", empty, "muted")]));
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}

function show(section) {
  for (const id of ["login", "overview", "job", "poses"]) $(id).hidden = id !== section;
  $("logout").hidden = section === "login";
  $("live").hidden = section === "login";
}

function setLive(status) {
  const labels = { connecting: "● connecting…", live: "● live",
                   reconnecting: "● reconnecting…", ended: "● finished" };
  $("live").textContent = labels[status] || status;
  $("live").className = "live is-" + status;
}

function follow(path, handlers) {
  setLive("connecting");
  return keepStreaming(path, Object.assign({
    headers: () => ({ Authorization: "Bearer " + apiKey() }),
    onStatus: setLive,
    onUnauthorised: logout,
  }, handlers));
}

function logout() {
  sessionStorage.removeItem(KEY);
  stopAll();
  show("login");
}

function stopAll() {
  if (stream) stream.abort();
  stream = null;
  stopFallback();
  clearTimeout(artifactsTimer);
}

// -- overview -------------------------------------------------------------------------
function card(label, value) {
  const c = el("div", undefined, "card");
  c.append(el("b", value), el("span", label));
  return c;
}

function chart(series) {
  const w = 600, h = 160, n = series.length;
  const max = Math.max(1, ...series.map((b) => b.succeeded + b.failed));
  const bw = w / n;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  series.forEach((b, i) => {
    const ok = (b.succeeded / max) * (h - 10), bad = (b.failed / max) * (h - 10);
    for (const [height, y, color] of [[ok, h - ok, "#1f9d55"], [bad, h - ok - bad, "#d64545"]]) {
      if (!height) continue;
      const r = document.createElementNS(ns, "rect");
      r.setAttribute("x", i * bw + 1); r.setAttribute("width", Math.max(1, bw - 2));
      r.setAttribute("y", y); r.setAttribute("height", height); r.setAttribute("fill", color);
      svg.append(r);
    }
  });
  const axis = document.createElementNS(ns, "line");
  axis.setAttribute("x1", 0); axis.setAttribute("x2", w);
  axis.setAttribute("y1", h - 0.5); axis.setAttribute("y2", h - 0.5);
  axis.setAttribute("stroke", "#c7ccd6");
  svg.append(axis);
  $("chart").replaceChildren(svg);
}

// A finished job is complete whatever its generator reported (noop reports nothing).
function fractionOf(job) {
  return job.state === "succeeded" ? 1 : job.progress?.fraction || 0;
}

function jobItem(job) {
  const li = el("li");
  const name = `${job.kind} ${job.id.slice(-8)}`;
  // The job pages and their events answer only to the owner's key.
  const a = job.mine ? el("a", name) : el("span", name);
  if (job.mine) a.href = `#/jobs/${job.id}`;
  const pct = Math.round(fractionOf(job) * 100);
  li.append(a, " ", el("span", job.state, "state " + job.state), " ", el("span", `${pct}%`));
  if (!job.mine) li.append(" ", el("small", "owner " + job.owner.slice(-8), "muted"));
  if (job.state === "running") {
    const bar = el("div", undefined, "progress");
    const fillBar = el("div");
    fillBar.style.width = pct + "%";
    bar.append(fillBar);
    li.append(bar, el("small", job.progress?.message || ""));
  }
  return li;
}

function renderSystem(m) {
  $("resources").replaceChildren(
    card("CPU", m.cpu.percent.toFixed(0) + "%  · load " + m.cpu.load_1m.toFixed(2)),
    card("memory", m.memory.percent.toFixed(0) + "% of " + bytes(m.memory.total)),
    card("disk (data dir)", m.disk.percent.toFixed(0) + "% · " + bytes(m.disk.free) + " free"),
    card("throughput (5 min)", m.throughput["5m"].per_minute.toFixed(1) + " jobs/min"),
  );
  const rows = Object.entries(m.queue).map(([kind, q]) => {
    const tr = el("tr");
    const breaker = m.breakers[kind]?.state || "closed";
    const oldest = q.queued ? Math.round(q.oldest_queued_age || 0) + " s" : "nothing queued";
    for (const v of [kind, q.queued || 0, q.running || 0, q.succeeded || 0, q.failed || 0,
                     oldest]) tr.append(el("td", String(v)));
    tr.append(el("td", breaker, breaker === "closed" ? "ok" : "bad"));
    return tr;
  });
  $("queue").tBodies[0].replaceChildren(...rows);
  chart(m.series);
  const h = m.throughput["1h"];
  $("rates").textContent = `last hour: ${h.finished} finished, ${h.failed} failed ` +
    `(${(h.failure_rate * 100).toFixed(1)}% failure rate)`;
  fill($("workers"), m.workers.map((w) =>
    el("li", `${w.hostname} · ${w.kinds.join(", ")} · beat ${w.heartbeat_age}s ago`)), "no live worker");
  fill($("alerts"), (m.alerts || []).map((a) =>
    el("li", `${a.severity}: ${a.summary}`, a.severity === "critical" ? "bad" : "warn")), "none firing");
}

// One snapshot (from the stream, or assembled by the fallback poll) paints the overview.
function renderOverview(s) {
  me = s.user;
  $("who").textContent = s.user ? s.user.name + (s.user.admin ? " · admin" : "") : "";
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !s.system;
  if (s.system) renderSystem(s.system);
  fill($("running"), s.running.map(jobItem), "nothing running");
  fill($("recent"), s.recent.map(jobItem), "no jobs yet");
  $("credits").textContent = s.credits
    ? `${s.credits.available} available · ${s.credits.held} held` : "–";
}

function summary(job) {
  return Object.assign({}, job, { mine: !me || job.owner === me.id, error: job.error?.code });
}

async function pollOverview() {
  const [running, recent, credits] = await Promise.all([
    api("/v1/jobs?state=running&limit=20"), api("/v1/jobs?limit=10"),
    api("/v1/credits").catch(() => null),
  ]);
  let system = null;
  if (me?.admin) {
    system = await api("/v1/system/metrics");
    system.alerts = (await api("/v1/system/alerts")).firing;
  }
  renderOverview({ user: me, system, credits,
                   running: running.data.map(summary), recent: recent.data.map(summary) });
}

function startFallback() {
  if (fallback || $("overview").hidden) return;
  pollOverview().catch(() => {});
  fallback = setInterval(() => pollOverview().catch(() => {}), FALLBACK_POLL_MS);
}

function stopFallback() {
  if (fallback) clearInterval(fallback);
  fallback = null;
}

function watchOverview() {
  stream = follow("/v1/system/stream", {
    onEvent: (type, data) => {
      if (type === "overview") { stopFallback(); renderOverview(data); }
      if (type === "error") logout(); // the key was revoked while we watched
    },
    onStatus: (status) => { setLive(status); if (status === "reconnecting") startFallback(); },
  });
}

async function submitJob(event) {
  event.preventDefault();
  $("submit-error").textContent = "";
  try {
    const input = await submitForm.collect();
    const job = await api("/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind: $("kind").value, input }),
    });
    location.hash = `#/jobs/${job.id}`;
  } catch (e) { $("submit-error").textContent = e.message; }
}

// -- job page -------------------------------------------------------------------------
function renderJob(job) {
  $("job-id").textContent = job.id;
  $("job-kind").textContent = job.kind;
  $("job-state").textContent = job.state;
  $("job-state").className = "state " + job.state;
  $("job-attempt").textContent = `${job.attempt}/${job.max_attempts}`;
  setProgress(fractionOf(job), job.progress.message);
  $("job-error").textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
}

function setProgress(fraction, message) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  $("job-bar").style.width = pct + "%";
  $("job-percent").textContent = pct + "%";
  $("job-message").textContent = message || "";
}

async function loadArtifacts(id) {
  const list = await api(`/v1/jobs/${id}/artifacts`);
  fill($("artifacts"), list.map((a) => {
    const li = el("li");
    const link = el("a", a.name);
    link.href = a.url;
    link.target = "_blank";
    link.rel = "noopener";
    li.append(link, ` · ${a.content_type} · ${bytes(a.size)}`);
    return li;
  }), "no artifacts");
  const viewer = list.find((a) => a.name.endsWith("viewer.html"));
  $("viewer-panel").hidden = !viewer;
  // Each listing signs its URLs afresh: reload the frame only for another job's viewer,
  // never under the hands of someone turning this one.
  if (viewer && $("viewer").dataset.job !== id) {
    $("viewer").dataset.job = id;
    $("viewer").src = viewer.url;
  }
}

function scheduleArtifacts(id) {
  // A turntable adds a frame after frame: one listing for a burst of artifact events.
  clearTimeout(artifactsTimer);
  artifactsTimer = setTimeout(() => loadArtifacts(id).catch(() => {}), 300);
}

function onEvent(id, type, data) {
  const item = el("li", `${new Date(data.ts).toLocaleTimeString()} ${type} ` +
    JSON.stringify(Object.fromEntries(Object.entries(data).filter(([k]) => k !== "ts"))));
  $("events").append(item);
  if (type === "progress" && data.total) setProgress(data.done / data.total, data.message);
  if (type === "artifact") scheduleArtifacts(id);
  if (type === "state") {
    api(`/v1/jobs/${id}`).then(renderJob).catch(() => {});
    if (TERMINAL.includes(data.state)) scheduleArtifacts(id);
  }
}

async function openJob(id) {
  show("job");
  $("events").replaceChildren();
  $("viewer-panel").hidden = true;
  $("viewer").removeAttribute("src");
  delete $("viewer").dataset.job;
  renderJob(await api(`/v1/jobs/${id}`));
  if (location.hash !== `#/jobs/${id}`) return; // left while it loaded: follow nothing
  loadArtifacts(id).catch(() => {});
  let ended = false;
  stream = follow(`/v1/jobs/${id}/events`, {
    resume: true,
    finished: () => ended,
    onEvent: (type, data) => {
      if (type === "state" && TERMINAL.includes(data.state)) ended = true;
      onEvent(id, type, data);
    },
  });
}

// -- routing --------------------------------------------------------------------------
async function route() {
  stopAll();
  if (!apiKey()) { show("login"); return; }
  const m = location.hash.match(/^#\/jobs\/([0-9a-f]+)$/);
  try {
    if (m) { await openJob(m[1]); return; }
    if (location.hash === "#/poses") { show("poses"); await poseBrowser.open(); return; }
    show("overview");
    watchOverview();
    submitForm.load().catch((e) => { $("submit-error").textContent = e.message; });
  } catch (e) { if (apiKey()) $("login-error").textContent = e.message; }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("api-key").value.trim());
    $("api-key").value = "";
    try {
      await api("/v1/system/metrics");
      $("login-error").textContent = "";
      route();
    } catch (e) { $("login-error").textContent = "that key was refused: " + e.message; }
  });
  $("logout").addEventListener("click", logout);
  $("submit-form").addEventListener("submit", submitJob);
  $("kind").addEventListener("change", submitForm.render);
  window.addEventListener("hashchange", route);
  route();
});
