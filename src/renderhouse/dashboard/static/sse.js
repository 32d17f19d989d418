// Server-Sent Events over fetch() and a stream reader. EventSource cannot send the
// Authorization header the API key travels in (and a key in the URL would land in access
// logs), so the dashboard parses the stream itself and reconnects with backoff.
"use strict";

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;

async function readEvents(resp, onMessage) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const msg = { event: "message", id: null, data: [] };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a heartbeat comment: the line is alive
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const text = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "data") msg.data.push(text);
        else if (field === "event") msg.event = text;
        else if (field === "id") msg.id = text;
      }
      if (msg.data.length) onMessage(msg.event, JSON.parse(msg.data.join("\n")), msg.id);
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// Follow `path` until stop(): reconnect after a drop, waiting 1 s doubling to 30 s (with
// jitter, so a restarted server is not hit by every tab at once). With `resume`, reconnects
// ask for events after the last id seen (`?after=`); `finished()` true ends the loop when the
// server closes the stream on purpose (a job's events end with its terminal state).
function keepStreaming(path, { headers, onEvent, onStatus, onUnauthorised, resume, finished }) {
  const ctl = new AbortController();
  let lastId = null;
  let delay = BACKOFF_FIRST_MS;
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const url = resume && lastId ? `${path}?after=${encodeURIComponent(lastId)}` : path;
        const resp = await fetch(url, { headers: headers(), signal: ctl.signal, cache: "no-store" });
        if (resp.status === 401) { onUnauthorised(); return; }
        if (!resp.ok) throw new Error(resp.statusText);
        onStatus("live");
        await readEvents(resp, (event, data, id) => {
          delay = BACKOFF_FIRST_MS; // a message arrived: this connection works
          if (id) lastId = id;
          onEvent(event, data);
        });
        if (finished && finished()) { onStatus("ended"); return; }
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      onStatus("reconnecting");
      await sleep(delay * (0.75 + Math.random() / 2), ctl.signal);
      delay = Math.min(BACKOFF_MAX_MS, delay * 2);
    }
  })();
  return ctl;
}
