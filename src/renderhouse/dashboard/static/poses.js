// The pose library browser: thumbnails by category with search (GET /v1/poses, each
// thumbnail fetched with the API key and shown from a blob URL), and a pose job from it:
// pick an avatar (GET /v1/avatars) or upload a GLB (made an avatar first), pick poses, submit.
"use strict";

const poseBrowser = (() => {
  const picked = new Set();
  const thumbs = new Map(); // pose name -> blob URL, kept for the tab's life
  let timer = null;

  async function thumbnail(img, url) {
    if (thumbs.has(url)) { img.src = thumbs.get(url); return; }
    const resp = await fetch(url, { headers: { Authorization: "Bearer " + apiKey() } });
    if (resp.status === 503) { setTimeout(() => thumbnail(img, url), 2000); return; }
    if (!resp.ok) return;
    thumbs.set(url, URL.createObjectURL(await resp.blob()));
    img.src = thumbs.get(url);
  }

  function showPicked() {
    $("pose-picked").textContent = picked.size ? [...picked].join(", ") : "click thumbnails to pick";
  }

  async function load() {
    const params = new URLSearchParams();
    if ($("pose-category").value) params.set("category", $("pose-category").value);
    if ($("pose-search").value.trim()) params.set("q", $("pose-search").value.trim());
    const { data } = await api("/v1/poses?" + params);
    const figures = data.map((p) => {
      const fig = el("figure");
      fig.dataset.pose = p.name;
      fig.classList.toggle("picked", picked.has(p.name));
      const img = el("img");
      img.alt = p.title;
      fig.append(img, el("figcaption", p.title + (p.source === "own" ? " (yours)" : "")));
      fig.addEventListener("click", () => {
        if (picked.has(p.name)) picked.delete(p.name); else picked.add(p.name);
        fig.classList.toggle("picked", picked.has(p.name));
        showPicked();
      });
      thumbnail(img, p.thumbnail_url);
      return fig;
    });
    $("pose-grid").replaceChildren(...(figures.length ? figures : [el("p", "no poses match", "muted")]));
  }

  async function avatarRef() {
    const file = $("pose-upload").files[0];
    if (!file) return $("pose-avatar").value;
    const form = new FormData();
    form.append("file", file);
    const up = await api("/v1/uploads", { method: "POST", body: form });
    const avatar = await api("/v1/avatars", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ upload: up.ref }),
    });
    return avatar.ref;
  }

  async function submit(event) {
    event.preventDefault();
    $("pose-error").textContent = "";
    try {
      if (!picked.size) throw new Error("pick at least one pose");
      const avatar = await avatarRef();
      if (!avatar) throw new Error("pick an avatar or upload a rigged GLB");
      const input = { avatar, poses: [...picked], size: Number($("pose-size").value) };
      const job = await api("/v1/jobs", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ kind: "pose", input }),
      });
      location.hash = `#/jobs/${job.id}`;
    } catch (e) { $("pose-error").textContent = e.message; }
  }

  async function open() {
    const [{ data: cats }, { data: avatars }] = await Promise.all([
      api("/v1/poses/categories"), api("/v1/avatars?limit=200"),
    ]);
    const current = $("pose-category").value;
    $("pose-category").replaceChildren(el("option", "all"),
      ...cats.map((c) => el("option", `${c.name} (${c.count})`)));
    $("pose-category").options[0].value = "";
    cats.forEach((c, i) => { $("pose-category").options[i + 1].value = c.name; });
    $("pose-category").value = current;
    $("pose-avatar").replaceChildren(el("option", "— upload one —"),
      ...avatars.map((a) => el("option", a.name)));
    $("pose-avatar").options[0].value = "";
    avatars.forEach((a, i) => { $("pose-avatar").options[i + 1].value = a.ref; });
    await load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("pose-category").addEventListener("change", load);
    $("pose-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
    $("pose-form").addEventListener("submit", submit);
  });
  return { open };
})();
