// painterly's page: a thin client of the JSON API (/api/methods, /api/examples, /api/jobs).
// The method cards and their controls are generated from /api/methods, so a method added to the
// server appears here with its own controls.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  server: null,          // /api/methods
  methods: [],           // catalog entries
  method: null,          // the selected entry
  values: {},            // per method name: {option: value}
  common: {},            // size, preserve_colors
  photo: null,           // {blob, name, url, width, height}
  painting: null,        // {blob, name, url} | {trained: id, title, url}
  job: null,             // id of the running job
  history: [],
  shown: null,           // the history entry in the viewer
};

// ---------- words ----------
function plain(msg, field) {
  // Server messages name "content image" / "style image" and start with the form field at fault
  // ("size: must be ..."); the page says photo / painting and the control's own label.
  let text = String(msg || "Something went wrong.").replace(/content image/g, "photo").replace(/style image/g, "painting");
  const label = { content: "The photo", style: "The painting" }[field] || (field && labelOf(field));
  if (field && label && text.startsWith(field + ": ")) text = `${label}: ${text.slice(field.length + 2)}`;
  return text.replace(/^./, (c) => c.toUpperCase());
}
function labelOf(field) {
  const el = document.querySelector(`.control[data-option="${CSS.escape(field)}"] label span`);
  return el ? el.textContent : null;
}
function markInvalid(field) {
  for (const c of document.querySelectorAll(".control.invalid")) c.classList.remove("invalid");
  const c = field && document.querySelector(`.control[data-option="${CSS.escape(field)}"]`);
  if (c) { c.classList.add("invalid"); if (c.closest("details")) c.closest("details").open = true; }
}
function seconds(s) {
  if (s == null) return "";
  if (s < 1.5) return "about a second";
  if (s < 90) return `about ${Math.round(s)} s`;
  return `about ${Math.round(s / 60)} min`;
}

// ---------- uploads ----------
const READABLE = "That file isn't a picture this page can read. Use a JPEG, PNG or WebP image.";

async function prepareImage(file, what) {
  // Decode in the browser: a fake or broken file is caught here, in plain words; an oversized
  // one is scaled down (the result is at most max_size px, so nothing is lost) with a note.
  if (!file.type.startsWith("image/") && !/\.(jpe?g|png|webp|gif|bmp|tiff?)$/i.test(file.name)) {
    throw new Error(READABLE);
  }
  let bmp;
  try { bmp = await createImageBitmap(file); } catch (e) { throw new Error(READABLE); }
  const s = state.server;
  const w = bmp.width, h = bmp.height;
  if (w < 16 || h < 16) { bmp.close(); throw new Error(`That ${what} is only ${w}×${h} pixels; use one at least 16 pixels on each side.`); }
  const limit = s.max_size;
  const tooBig = Math.max(w, h) > limit || w * h > s.max_pixels || file.size > s.max_upload_bytes;
  const okType = /^image\/(jpeg|png|webp)$/.test(file.type);
  if (!tooBig && okType) { bmp.close(); return { blob: file, name: file.name, width: w, height: h, note: "" }; }
  const k = Math.min(1, limit / Math.max(w, h));
  const cw = Math.max(1, Math.round(w * k)), ch = Math.max(1, Math.round(h * k));
  const canvas = document.createElement("canvas");
  canvas.width = cw; canvas.height = ch;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, cw, ch);
  g.imageSmoothingQuality = "high";
  g.drawImage(bmp, 0, 0, cw, ch);
  bmp.close();
  const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.92));
  const note = tooBig ? `Scaled down from ${w}×${h} to ${cw}×${ch}: results are at most ${limit} px, so nothing is lost.` : "";
  return { blob, name: file.name.replace(/\.[^.]*$/, "") + ".jpg", width: cw, height: ch, note };
}

const VIDEO = /\.(mp4|m4v|mov|webm|mkv|avi)$/i;
function isVideo(file) { return file.type.startsWith("video/") || VIDEO.test(file.name); }

async function prepareVideo(file) {
  // A short video: its size and length checked here in plain words (the server checks its header
  // too), and its first frame kept as the picture shown while it is painted.
  const s = state.server;
  if (file.size > s.max_video_bytes) {
    throw new Error(`That video is ${(file.size / 2 ** 20).toFixed(0)} MB; this server takes videos of up to ${Math.round(s.max_video_bytes / 2 ** 20)} MB.`);
  }
  const url = URL.createObjectURL(file);
  const v = document.createElement("video");
  v.muted = true; v.preload = "auto"; v.src = url;
  const ok = await new Promise((done) => {
    v.addEventListener("loadeddata", () => done(true), { once: true });
    v.addEventListener("error", () => done(false), { once: true });
    setTimeout(() => done(false), 8000);
  });
  if (!ok) return { blob: file, name: file.name, url, video: true, width: 0, height: 0, poster: null, note: "" };
  if (v.duration > s.max_video_seconds + 0.05) {
    URL.revokeObjectURL(url);
    throw new Error(`That video is ${v.duration.toFixed(1)} s long; this server paints videos of up to ${s.max_video_seconds} s. Trim it first.`);
  }
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  return { blob: file, name: file.name, url, video: true, width: v.videoWidth, height: v.videoHeight,
           poster: c.toDataURL("image/jpeg", 0.85), note: `A ${v.duration.toFixed(1)} s video` };
}

function setPhoto(p) {
  // Earlier photos stay alive: the history compares each result with its own photo.
  state.photo = p;
  const img = $("content-img"), vid = $("content-video");
  if (p.video) { vid.src = p.url; vid.hidden = false; img.hidden = true; img.removeAttribute("src"); }
  else { img.src = p.url; img.hidden = false; vid.hidden = true; vid.removeAttribute("src"); }
  $("content-drop").classList.add("filled");
  $("content-note").textContent = p.note || "";
  $("content-error").textContent = "";
  $("run-error").textContent = "";
  markPressed("photo-examples", p.example);
  updateWhere();
}

function setPainting(p) {
  state.painting = p;
  const img = $("style-img");
  $("style-error").textContent = "";
  $("run-error").textContent = "";
  $("style-note").textContent = p.note || "";
  if (p.url) { img.src = p.url; img.hidden = false; } else img.hidden = true;
  img.alt = p.trained ? `${p.title}: the example photo in this trained style` : (p.title || "the painting");
  $("style-drop").classList.add("filled");
  markPressed("gallery", p.trained ? "trained:" + p.trained : p.example);
  if (p.trained) {
    const m = state.methods.find((x) => x.name === p.method);
    if (m) { state.values[m.name] = { ...(state.values[m.name] || {}), model: p.trained }; selectMethod(m.name); }
    $("style-note").textContent = `⚡ ${p.title}: a trained style, instant (shown on the example photo)`;
  } else if (state.method && !state.method.needs_style) {
    const first = state.methods.find((m) => m.needs_style && !m.iterative) || state.methods.find((m) => m.needs_style);
    if (first) selectMethod(first.name);
  }
}

async function onFile(which, file) {
  if (!file) return;
  const what = which === "content" ? "photo" : "painting";
  const err = $(which + "-error");
  err.textContent = "";
  try {
    if (which === "content" && isVideo(file)) { setPhoto(await prepareVideo(file)); return; }
    const p = await prepareImage(file, what);
    p.url = URL.createObjectURL(p.blob); p.own = true;
    if (which === "content") setPhoto(p); else setPainting(p);
  } catch (e) {
    err.textContent = plain(e.message);
    if (which === "content") { state.photo = null; $("content-img").hidden = true; $("content-video").hidden = true; $("content-drop").classList.remove("filled"); $("content-note").textContent = ""; }
    else { state.painting = null; $("style-img").hidden = true; $("style-drop").classList.remove("filled"); $("style-note").textContent = ""; }
  }
}

function wireDrop(which) {
  const drop = $(which + "-drop"), input = $(which + "-file");
  input.addEventListener("change", () => { onFile(which, input.files[0]); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); onFile(which, e.dataTransfer.files[0]); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
}

async function exampleBlob(url, file) {
  const r = await fetch(url);
  const blob = await r.blob();
  return { blob, name: file, url: URL.createObjectURL(blob), own: true };
}

// ---------- gallery ----------
function markPressed(containerId, id) {
  for (const b of $(containerId).querySelectorAll(".thumb")) b.setAttribute("aria-pressed", String(b.dataset.id === id));
}

function thumb(item, id, extraClass) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "thumb " + (extraClass || ""); b.dataset.id = id;
  b.title = item.credit ? `${item.title} — ${item.credit}` : item.title;
  b.setAttribute("aria-pressed", "false"); b.setAttribute("aria-label", item.title);
  const i = document.createElement("img"); i.src = item.url; i.alt = ""; i.loading = "lazy"; b.append(i);
  const t = document.createElement("span"); t.textContent = item.title; b.append(t);
  return b;
}

function buildGallery(ex) {
  for (const p of ex.photos) {
    const b = thumb(p, p.id);
    b.addEventListener("click", async () => {
      const x = await exampleBlob(p.url, p.id + ".jpg");
      setPhoto({ ...x, example: p.id, note: "" });
    });
    $("photo-examples").append(b);
  }
  const gallery = $("gallery");
  const heading = (text) => { const h = document.createElement("span"); h.className = "group-label"; h.textContent = text; gallery.append(h); };
  heading("Paintings");
  for (const p of ex.paintings) {
    const b = thumb(p, p.id);
    b.addEventListener("click", async () => {
      const x = await exampleBlob(p.url, p.id + ".jpg");
      setPainting({ ...x, example: p.id, note: "" });
    });
    gallery.append(b);
  }
  const styles = ex.styles.filter((x) => state.methods.some((m) => m.name === x.method));
  if (styles.length) {
    heading(`Trained styles (${styles.length}), instant`);
    for (const s of styles) {
      const b = thumb({ title: s.title, url: s.url }, "trained:" + s.id, "trained");
      b.title = `${s.title}: a trained style, instant`;
      b.addEventListener("click", () => setPainting({ trained: s.id, method: s.method, title: s.title, url: s.url, note: "" }));
      gallery.append(b);
    }
  }
  $("credits").textContent = [...ex.photos, ...ex.paintings].map((p) => `${p.title} (${p.credit})`).join("; ");
  gallery.addEventListener("scroll", updateCue, { passive: true });
  window.addEventListener("resize", updateCue);
  updateCue();
}

function updateCue() {
  // The gallery scrolls: say how many tiles lie below, until the end is reached.
  const g = $("gallery"), cue = $("gallery-cue");
  const bottom = g.getBoundingClientRect().bottom;
  const below = [...g.querySelectorAll(".thumb")].filter((t) => t.getBoundingClientRect().top > bottom - 30).length;
  const end = g.scrollTop + g.clientHeight >= g.scrollHeight - 4;
  cue.textContent = below ? `↓ scroll for ${below} more` : "";
  cue.classList.toggle("done", end || !below);
}

// ---------- methods and controls (generated from /api/methods) ----------
function splitTitle(title) {
  // "Any painting, fast (AdaIN)" -> ["Any painting, fast", "AdaIN"]: the paper's name goes to the small print.
  const m = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(title || "");
  return m ? [m[1], m[2]] : [title, ""];
}

function buildMethods() {
  const box = $("methods");
  box.textContent = "";
  for (const m of state.methods) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "method"; b.dataset.name = m.name;
    const [title, paperName] = splitTitle(m.title);
    b.setAttribute("role", "radio"); b.setAttribute("aria-checked", "false");
    const t = document.createElement("b"); t.textContent = title;
    b.title = m.description || "";
    const p = document.createElement("span"); p.className = "paper";
    const paper = m.paper || "";
    p.textContent = (paperName && !paper.startsWith(paperName) ? [paperName, paper] : [paper]).filter(Boolean).join(" — ") || m.name;
    b.append(t, p);
    b.addEventListener("click", () => selectMethod(m.name));
    box.append(b);
  }
}

function control(o, values) {
  // One control from one schema entry: a choice -> select, a bounded number -> slider,
  // another number -> number box ("auto" when it may stay empty), a flag -> checkbox, else text.
  const wrap = document.createElement("div"); wrap.className = "control"; wrap.dataset.option = o.name;
  const id = "opt-" + o.name;
  const label = document.createElement("label"); label.htmlFor = id;
  const name = document.createElement("span"); name.textContent = o.label || o.name;
  label.append(name);
  const numeric = o.type === "integer" || o.type === "number";
  let input;
  const v = values[o.name] ?? o.default ?? "";
  if (o.choices && o.choices.length) {
    input = document.createElement("select");
    for (const c of o.choices) {
      const opt = document.createElement("option"); opt.value = c;
      opt.textContent = (o.labels && o.labels[c]) || String(c).replace(/[_-]/g, " ");
      input.append(opt);
    }
    input.value = v;
  } else if (o.type === "boolean") {
    input = document.createElement("input"); input.type = "checkbox"; input.checked = !!v;
  } else if (numeric && o.min != null && o.max != null && v !== "" && (o.type === "number" || o.max - o.min <= 10000)) {
    input = document.createElement("input"); input.type = "range";
    const span = o.max - o.min;
    input.min = o.min; input.max = o.max;
    input.step = o.type === "integer" ? 1 : (span <= 1 ? 0.05 : span / 100);
    input.value = v;
    const out = document.createElement("output"); out.textContent = v; label.append(out);
    input.addEventListener("input", () => { out.textContent = input.value; });
  } else {
    input = document.createElement("input"); input.type = numeric ? "number" : "text";
    if (numeric) {
      if (o.min != null) input.min = o.min;
      if (o.max != null) input.max = o.max;
      input.step = o.type === "integer" ? 1 : "any";
    }
    if (v === "" && o.nullable) input.placeholder = "auto";
    input.value = v;
  }
  input.id = id;
  let field = input;
  if (o.name === "seed") {
    // A seed is a number to note down and reuse, or a new random one: a box and a button, not a slider.
    field = document.createElement("div"); field.className = "row";
    const dice = document.createElement("button"); dice.type = "button"; dice.id = id + "-random"; dice.textContent = "random";
    dice.title = "a new random seed";
    dice.addEventListener("click", () => { input.value = String(Math.floor(Math.random() * 2 ** 31)); input.dispatchEvent(new Event("input")); });
    field.append(input, dice);
  }
  const keep = () => { values[o.name] = o.type === "boolean" ? input.checked : input.value; };
  input.addEventListener("change", keep);
  input.addEventListener("input", keep);
  values[o.name] = v;
  wrap.append(label, field);
  if (o.help) { const h = document.createElement("p"); h.className = "help"; h.textContent = o.help; wrap.append(h); }
  return wrap;
}

function selectMethod(name) {
  const m = state.methods.find((x) => x.name === name) || state.methods[0];
  state.method = m;
  for (const b of $("methods").children) b.setAttribute("aria-checked", String(b.dataset.name === m.name));
  const values = (state.values[m.name] = state.values[m.name] || {});
  const main = $("controls"), more = $("more-controls");
  main.textContent = ""; more.textContent = "";
  // In the open: the method's main knobs, then the shared strength. Under "More settings": the shared
  // options first (size, colours), then the method's own expert options.
  // The result size belongs to each method (a fast one and a slow one want different sizes); the
  // strength and colours carry over.
  for (const o of m.options) if (!o.advanced) main.append(control(o, values));
  for (const o of state.server.common) (o.advanced ? more : main).append(control(o, o.name === "size" ? values : state.common));
  for (const o of m.options) if (o.advanced) more.append(control(o, values));
  $("style-drop").classList.toggle("off", !m.needs_style);
  if (!m.needs_style && state.painting && !state.painting.trained) {
    $("style-note").textContent = "This method uses its own trained style: the painting is not used.";
  } else if (m.needs_style && state.painting && state.painting.trained) {
    state.painting = null; $("style-img").hidden = true;
    $("style-drop").classList.remove("filled"); $("style-note").textContent = ""; markPressed("gallery", "");
  }
  $("method-about").textContent = m.description || "";
  $("run").textContent = m.iterative ? "Start painting" : "Paint it";
  document.body.dataset.method = m.name;
  if (state.common.where) updateWhere();
}

// ---------- where to paint: an automatic region, previewed over the photo ----------
let whereTicket = 0;
let whereShown = null;                           // {key, src, text} of the preview on screen
function whereNote() {
  const c = document.querySelector('.control[data-option="where"]');
  if (!c) return null;
  let n = $("where-note");
  if (!n) { n = document.createElement("p"); n.id = "where-note"; n.className = "note"; n.setAttribute("aria-live", "polite"); c.append(n); }
  return n;
}
async function updateWhere() {
  // The photo box shows what will be painted: the region at full colour, the rest dimmed.
  const sel = $("opt-where"), img = $("content-img"), note = whereNote();
  const where = sel ? sel.value : "";
  const ticket = ++whereTicket;
  if (!state.photo) { if (note) note.textContent = ""; return; }
  if (state.photo.video) { if (note) note.textContent = where ? "A video is painted whole: leave this on the whole picture." : ""; return; }
  if (!where) {
    img.src = state.photo.url; if (note) note.textContent = ""; $("content-drop").classList.remove("masked");
    $("content-note").textContent = state.photo.note || "";
    return;
  }
  const label = sel.options[sel.selectedIndex].textContent;
  const key = state.photo.url + "|" + where;
  if (whereShown && whereShown.key === key) {   // the same photo and part (the method changed): no new request
    img.src = whereShown.src; if (note) note.textContent = whereShown.text; $("content-drop").classList.add("masked");
    $("content-note").textContent = whereShown.caption;
    return;
  }
  if (note) note.textContent = `Finding ${label}…`;
  const fd = new FormData();
  fd.append("content", state.photo.blob, state.photo.name);
  fd.append("where", where);
  let r;
  try { r = await fetch("/api/mask", { method: "POST", body: fd }); } catch (e) { r = null; }
  if (ticket !== whereTicket) return;              // another photo or choice came meanwhile
  if (!r || !r.ok) {
    const j = r ? await r.json().catch(() => ({})) : {};
    img.src = state.photo.url; $("content-drop").classList.remove("masked");
    if (note) note.textContent = r ? plain(j.detail, j.field) : "The server can't be reached to find that part.";
    return;
  }
  const share = parseFloat(r.headers.get("X-Painterly-Share") || "0");
  const [maskBmp, photoBmp] = await Promise.all([createImageBitmap(await r.blob()), createImageBitmap(state.photo.blob)]);
  if (ticket !== whereTicket) return;
  const w = maskBmp.width, h = maskBmp.height;
  const canvas = document.createElement("canvas"); canvas.width = w; canvas.height = h;
  const g = canvas.getContext("2d");
  g.drawImage(maskBmp, 0, 0);
  const m = g.getImageData(0, 0, w, h).data;
  g.drawImage(photoBmp, 0, 0, w, h);
  const px = g.getImageData(0, 0, w, h);
  const d = px.data;
  for (let i = 0; i < d.length; i += 4) {        // kept part: a fifth of its brightness, tinted blue-grey
    const a = m[i] / 255, k = 0.22 + 0.78 * a;
    d[i] = d[i] * k + 40 * (1 - a); d[i + 1] = d[i + 1] * k + 48 * (1 - a); d[i + 2] = d[i + 2] * k + 80 * (1 - a);
  }
  g.putImageData(px, 0, 0);
  maskBmp.close(); photoBmp.close();
  const text = `Paints ${label}: ${Math.round(share * 100)} % of the photo. The dimmed part keeps the photo.`;
  whereShown = { key, src: canvas.toDataURL("image/jpeg", 0.9), text, caption: `Paints ${label} (${Math.round(share * 100)} %)` };
  img.src = whereShown.src;
  $("content-drop").classList.add("masked");
  $("content-note").textContent = whereShown.caption;
  if (note) note.textContent = text;
}

// ---------- running ----------
function showProgress(text, fraction, canStop) {
  $("progress").hidden = false;
  $("bar").hidden = false;
  $("status").textContent = text;
  const bar = $("bar");
  bar.classList.toggle("indeterminate", fraction == null);
  $("bar-fill").style.width = fraction == null ? "" : `${Math.round(fraction * 100)}%`;
  $("stop").hidden = !canStop;
}

function inView(el) {
  const r = el.getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight;
}

function bringOutputIntoView() {
  const stage = $("stage");
  if (!inView(stage)) stage.scrollIntoView({ behavior: "smooth", block: "start" });
}

function showLive(url) {
  const viewer = $("viewer");
  $("empty").hidden = true; viewer.hidden = false;
  $("result-video").hidden = true; $("result-video").pause();
  viewer.classList.add("live");
  const w = state.photo.width, h = state.photo.height;
  if (w && h) viewer.style.setProperty("--ar", (w / h).toFixed(4));
  const pv = $("preview");
  const still = state.photo.video ? state.photo.poster : state.photo.url;
  const ticket = ++previewTicket;
  if (!url) {                           // a spinner over the dimmed photo until the first preview
    pv.hidden = !still;
    if (still) pv.src = still;
    pv.style.opacity = "0.35";
    $("working").hidden = false;
    return;
  }
  // The preview is fetched first and shown only once it arrived whole: a job that ends meanwhile drops
  // its preview (404), and an <img> pointed at it would show the broken-image icon.
  fetch(url).then((r) => (r.ok ? r.blob() : null)).catch(() => null).then((blob) => {
    if (!blob || ticket !== previewTicket || !$("viewer").classList.contains("live")) return;
    if (previewUrl) URL.revokeObjectURL(previewUrl);     // our own copy only, never the photo's URL
    previewUrl = URL.createObjectURL(blob);
    pv.src = previewUrl;
    pv.hidden = false; pv.style.opacity = "1";
    $("working").hidden = true;
  });
}
let previewTicket = 0;
let previewUrl = null;             // the object URL of the preview on screen

function showResult(entry) {
  state.shown = entry;
  const viewer = $("viewer"), rv = $("result-video");
  $("empty").hidden = true;
  rv.hidden = !entry.video; viewer.hidden = !!entry.video;
  if (entry.video) {
    if (rv.getAttribute("src") !== entry.url) { rv.src = entry.url; rv.play().catch(() => {}); }
  } else { rv.pause(); rv.removeAttribute("src"); }
  const a = $("download");
  a.href = `${entry.url}?filename=${encodeURIComponent(entry.download.replace(/\.(png|mp4)$/, ""))}`;
  a.setAttribute("download", entry.download);
  a.textContent = "Download"; a.title = entry.download;
  $("result-info").textContent = `${entry.download} · ${entry.info}`;
  $("actions").hidden = false;
  for (const b of $("strip").children) b.setAttribute("aria-current", String(b.dataset.url === entry.url));
  if (entry.video) return;
  viewer.classList.remove("live");
  $("preview").hidden = true; $("working").hidden = true;
  viewer.style.setProperty("--ar", (entry.width / entry.height).toFixed(4));
  $("result").src = entry.url; $("result").hidden = false;
  $("before").src = entry.photoUrl; $("before").hidden = false;
  $("split").value = 50;                // each result starts half and half
  viewer.style.setProperty("--split", "50%");
}

async function preload(url) {
  const i = new Image();
  i.src = url;
  try { await i.decode(); } catch (e) { /* shown anyway; the browser reports it */ }
}

function addHistory(entry) {
  state.history.unshift(entry);
  const b = document.createElement("button");
  b.type = "button"; b.dataset.url = entry.url; b.title = entry.download;
  const i = document.createElement(entry.video ? "video" : "img");
  if (entry.video) { i.muted = true; i.preload = "metadata"; }
  i.src = entry.url; if (!entry.video) i.alt = entry.download;
  b.append(i);
  b.addEventListener("click", () => showResult(entry));
  $("strip").prepend(b);
  $("history").hidden = false;
}

async function run() {
  const m = state.method;
  $("run-error").textContent = ""; $("job-error").textContent = "";
  if (!state.photo) { $("run-error").textContent = "Choose a photo first (or click an example under it)."; return; }
  if (m.needs_style && (!state.painting || state.painting.trained)) {
    $("run-error").textContent = "Choose a painting first (or click one in the gallery).";
    return;
  }
  markInvalid(null);
  const video = !!state.photo.video;
  if (video && m.iterative) {
    $("run-error").textContent = `${splitTitle(m.title)[0]} paints step by step, too slow for a video: pick a one-pass method.`;
    return;
  }
  const fd = new FormData();
  fd.append("method", m.name);
  fd.append("content", state.photo.blob, state.photo.name);
  if (m.needs_style) fd.append("style", state.painting.blob, state.painting.name);
  for (const [k, v] of Object.entries({ ...state.common, ...(state.values[m.name] || {}) })) {
    if (v !== "" && v != null) fd.append(k, v);
  }
  $("run").disabled = true;
  $("actions").hidden = true;
  showLive(null);
  showProgress("Sending…", null, false);
  bringOutputIntoView();
  let job;
  try {
    const r = await fetch(video ? "/api/videos" : "/api/jobs", { method: "POST", body: fd });
    job = await r.json().catch(() => ({}));
    if (!r.ok) {
      markInvalid(job.field);
      return finish(typeof job.detail === "string" ? plain(job.detail, job.field) : "The server refused the request.");
    }
  } catch (e) {
    return finish("The server can't be reached. Check the connection and try again.");
  }
  state.job = job.id;
  const photoUrl = state.photo.url;
  const label = splitTitle(m.title)[0];
  poll(job, m, photoUrl, label, video);
}

async function poll(job, m, photoUrl, label, video) {
  for (;;) {
    const st = job;
    if (st.state === "waiting") {
      $("working-text").textContent = "Waiting for the server…";
      showProgress(st.position > 1 ? `Waiting for the server: ${st.position - 1} ahead of you…` : "Waiting for the server…", null, true);
    } else if (st.state === "running") {
      if (st.steps) {
        const eta = st.eta != null ? ` · ${seconds(st.eta)} left` : "";
        showProgress(`${video ? "Frame" : "Step"} ${st.step} of ${st.steps}${eta}`, st.step / st.steps, true);
      } else showProgress("Painting…", null, false);
      if (st.preview) showLive(st.preview);
      else $("working-text").textContent = "Painting…";
    } else if (st.state === "done") {
      const r = st.result;
      if (r.kind !== "video") await preload(r.url);   // shown once decoded: never a half-loaded or broken picture
      const stopped = !r.stopped ? "" : r.stopped !== "interrupted" ? plain(r.stopped)
        : video ? `Stopped at frame ${st.step} of ${st.steps}: kept the frames painted so far.`
        : `Stopped at step ${st.step} of ${st.steps}: kept the best image so far.`;
      const what = video ? `${r.frames} frames · ` : "";
      const entry = { url: r.url, width: r.width, height: r.height, download: r.download_name, photoUrl, video,
                      info: `${r.width}×${r.height} · ${what}${r.seconds < 1 ? r.seconds.toFixed(2) : r.seconds.toFixed(1)} s · ${label}` };
      addHistory(entry);
      showResult(entry);
      finish(null, stopped || (video ? "Done: your painted video, with its sound." : "Done. Drag across the picture to compare with your photo."));
      requestAnimationFrame(bringOutputIntoView);
      return;
    } else if (st.state === "cancelled") {
      return finish(null, "Cancelled before it started.");
    } else if (st.state === "failed") {
      return finish(plain(st.error));
    }
    await new Promise((ok) => setTimeout(ok, st.state === "running" && st.steps ? 400 : 250));
    try {
      const r = await fetch(`/api/jobs/${job.id}`);
      if (!r.ok) return finish("The server lost this job (it may have restarted). Please try again.");
      job = await r.json();
    } catch (e) {
      return finish("The server can't be reached. Check the connection and try again.");
    }
  }
}

function finish(error, message) {
  state.job = null;
  $("run").disabled = false;
  $("stop").hidden = true;
  $("stop").disabled = false;
  $("working").hidden = true;
  if (error) {
    $("progress").hidden = true;
    $("job-error").textContent = error;
    if (state.shown) showResult(state.shown); else { $("viewer").hidden = true; $("empty").hidden = false; }
  } else {
    $("bar").hidden = true;
    $("status").textContent = message || "";
  }
}

async function stop() {
  if (!state.job) return;
  $("stop").disabled = true;
  $("status").textContent = "Stopping: keeping the best image so far…";
  try { await fetch(`/api/jobs/${state.job}/stop`, { method: "POST" }); } catch (e) { /* the poll reports */ }
}

// ---------- compare slider ----------
function wireCompare() {
  const split = $("split"), viewer = $("viewer");
  const set = () => viewer.style.setProperty("--split", `${split.value}%`);
  split.addEventListener("input", set);
  set();
}

// ---------- start ----------
async function start() {
  wireDrop("content"); wireDrop("style"); wireCompare();
  $("run").addEventListener("click", run);
  $("stop").addEventListener("click", stop);
  document.addEventListener("change", (e) => { if (e.target && e.target.id === "opt-where") updateWhere(); });
  try {
    const [methods, examples] = await Promise.all([fetch("/api/methods").then((r) => r.json()),
                                                   fetch("/api/examples").then((r) => r.json())]);
    state.server = methods;
    state.methods = methods.details;
    buildMethods();
    const first = state.methods.find((m) => m.needs_style && !m.iterative) || state.methods[0];
    selectMethod(first.name);
    buildGallery(examples);
    document.body.dataset.ready = "1";
  } catch (e) {
    $("run-error").textContent = "The server can't be reached. Reload the page to try again.";
  }
}
start();
