// saliency-cam web page: plain JavaScript, no build step, no network beyond this server.
"use strict";

const $ = (sel) => document.querySelector(sel);
const QUALITIES = ["very_low", "low", "medium", "high", "very_high"];

// ---------------------------------------------------------------- token + requests
// A token given in the address as /#token=T is kept for this tab only.
(function readToken() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem("saliency-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();
const token = () => sessionStorage.getItem("saliency-token") || "";

function authHeaders() {
  return token() ? { Authorization: "Bearer " + token() } : {};
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (response.status === 401) $("#auth").hidden = false;
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

$("#token-save").addEventListener("click", () => {
  sessionStorage.setItem("saliency-token", $("#token-input").value.trim());
  location.reload();
});

// ---------------------------------------------------------------- tabs
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
    document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === tab.dataset.tab));
    if (tab.dataset.tab === "models") loadModels();
  });
}

// ---------------------------------------------------------------- colormaps
const lutCache = {};
async function lut(name) {
  if (!lutCache[name]) lutCache[name] = (await (await api("v1/colormaps/" + name)).json()).lut;
  return lutCache[name];
}

async function fillColormaps() {
  const names = (await (await api("v1/colormaps")).json()).colormaps;
  for (const select of document.querySelectorAll(".colormap-select")) {
    select.innerHTML = names.map((n) => `<option${n === "inferno" ? " selected" : ""}>${n}</option>`).join("");
  }
  await lut("inferno");
}

// Colour a uint8 map (w*h bytes) into an RGBA canvas of the same size.
function colourMap(bytes, width, height, table) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(width, height);
  const out = pixels.data;
  for (let i = 0, j = 0; i < bytes.length; i++, j += 4) {
    const c = table[bytes[i]];
    out[j] = c[0]; out[j + 1] = c[1]; out[j + 2] = c[2]; out[j + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  return canvas;
}

function stampUntrained(ctx, x) {
  ctx.save();
  ctx.font = "bold 20px sans-serif";
  ctx.fillStyle = "rgba(0,0,0,0.55)";
  ctx.fillRect(x + 6, 6, 132, 28);
  ctx.fillStyle = "#ff5050";
  ctx.fillText("UNTRAINED", x + 12, 27);
  ctx.restore();
}

// ---------------------------------------------------------------- models
let modelList = [];
async function loadModels() {
  const data = await (await api("v1/models")).json();
  modelList = data.models;
  const rows = data.models.map((m) => {
    const exported = m.exported.join(", ") || "–";
    let badge = '<span class="badge missing">not exported</span>';
    if (m.untrained) badge = '<span class="badge untrained">UNTRAINED</span>';
    else if (m.available) badge = '<span class="badge">trained</span>';
    return `<tr data-model="${m.name}"><td>${m.name}${m.name === data.default ? " (default)" : ""}</td>` +
      `<td>${m.kind}</td><td>${m.width}×${m.height}</td><td>${m.gflops}</td>` +
      `<td>${exported}</td><td>${badge}${m.loaded ? " loaded" : ""}</td></tr>`;
  });
  $("#models-table tbody").innerHTML = rows.join("");
  for (const select of document.querySelectorAll(".quality-select")) {
    const keep = select.value;
    select.innerHTML = data.models.filter((m) => m.available).map((m) =>
      `<option value="${m.name}">${m.name}${m.untrained ? " (UNTRAINED)" : ""}</option>`).join("");
    select.value = keep || data.default;
    if (!select.value) select.selectedIndex = 0;
  }
  // other exported models (datasets, your trained models) get a button after the qualities
  const group = $("#quality-buttons");
  for (const m of data.models) {
    if (m.kind === "quality" || !m.available || group.querySelector(`button[data-quality="${CSS.escape(m.name)}"]`)) continue;
    const button = document.createElement("button");
    button.dataset.quality = m.name;
    button.dataset.kind = m.kind;
    button.textContent = m.name + (m.untrained ? " (UNTRAINED)" : "");
    button.title = m.description;
    button.classList.toggle("active", m.name === live.serverQuality);
    group.append(button);
  }
  for (const button of group.querySelectorAll("button")) {
    const entry = data.models.find((m) => m.name === button.dataset.quality);
    button.disabled = !(entry && entry.available);
    button.title = button.disabled ? "not exported: run 'saliency-cam export --quality " + button.dataset.quality + "'" : (entry.description || "");
  }
  return data;
}

// ---------------------------------------------------------------- live
const live = {
  ws: null, stream: null, running: false, outstanding: 0, encoding: false, seq: 0, sent: {}, mapVersion: 0, drawn: "",
  map: null, mapMeta: null, trained: true, frames: [], latencies: [], quality: null,
  grab: document.createElement("canvas"),
};
window.saliencyLive = live;  // read by the browser test

function liveMessage(text) {
  $("#live-message").textContent = text;
  $("#live-message").hidden = !text;
}

function cameraProblem(error) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return "This browser gives no camera access here (open the page as http://127.0.0.1 or over https).";
  }
  switch (error && error.name) {
    case "NotAllowedError": case "SecurityError":
      return "Camera access was denied. Allow the camera for this page in the browser's site settings, then press Start camera.";
    case "NotFoundError": case "OverconstrainedError": case "DevicesNotFoundError":
      return "No camera found. Connect one and press Start camera, or use the Images and Videos tabs.";
    case "NotReadableError":
      return "The camera is busy in another program. Close it there and press Start camera.";
    default:
      return "Cannot start the camera: " + (error ? error.message || error.name : "unknown error");
  }
}

async function startLive() {
  liveMessage("");
  try {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw null;
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    liveMessage(cameraProblem(error));
    $("#live-state").textContent = "no camera";
    $("#live-toggle").textContent = "Start camera";
    return;
  }
  const video = $("#camera");
  video.srcObject = live.stream;
  await video.play();
  live.running = true;
  $("#live-toggle").textContent = "Stop camera";
  connectLive();
  requestAnimationFrame(drawLive);
}

function stopLive() {
  live.running = false;
  if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
  if (live.ws) live.ws.close();
  live.ws = null;
  $("#live-toggle").textContent = "Start camera";
  $("#live-state").textContent = "stopped";
}

$("#live-toggle").addEventListener("click", () => (live.running ? stopLive() : startLive()));

function connectLive() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    location.pathname.replace(/[^/]*$/, "") + "v1/live";
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  live.ws = ws;
  live.outstanding = 0;
  ws.onopen = () => {
    if (token()) ws.send(JSON.stringify({ type: "auth", token: token() }));
    if (live.quality) ws.send(JSON.stringify({ type: "quality", quality: live.quality }));
    $("#live-state").textContent = "connected";
    sendFrame();
  };
  ws.onmessage = (event) => (typeof event.data === "string" ? onLiveStatus(JSON.parse(event.data)) : onLiveMap(event.data));
  ws.onclose = (event) => {
    if (live.ws !== ws) return;
    live.ws = null;
    $("#live-state").textContent = "disconnected";
    if (event.code === 1008) { $("#auth").hidden = false; liveMessage("The server refused the token."); return; }
    if (live.running) setTimeout(() => live.running && !live.ws && connectLive(), 1000);
  };
}

function onLiveStatus(message) {
  if (message.type === "error") { liveMessage(message.message); if (message.seq !== undefined) { live.outstanding = Math.max(0, live.outstanding - 1); sendFrame(); } return; }
  if (message.error) liveMessage(message.error);
  live.serverQuality = message.quality;
  for (const button of document.querySelectorAll("#quality-buttons button")) {
    button.classList.toggle("active", button.dataset.quality === message.quality);
    button.classList.toggle("loading", button.dataset.quality === message.loading);
  }
  if (message.model) $("#live-model").textContent = message.model;
  $("#live-state").textContent = message.loading ? "loading " + message.loading + "…" : "connected";
}

function onLiveMap(buffer) {
  const headerLength = new DataView(buffer).getUint32(0, true);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
  const now = performance.now();
  const sentAt = live.sent[meta.seq];
  delete live.sent[meta.seq];
  if (sentAt !== undefined) live.latencies.push(now - sentAt);
  live.frames.push(now);
  live.map = new Uint8Array(buffer, 4 + headerLength, meta.width * meta.height);
  live.mapMeta = meta;
  live.trained = meta.trained;
  live.received = (live.received || 0) + 1;
  live.mapCanvas = null;  // recoloured lazily
  live.mapVersion += 1;
  $("#live-model").textContent = meta.quality + (meta.trained ? "" : " (UNTRAINED)");
  $("#untrained-banner").hidden = meta.trained;
  live.outstanding = Math.max(0, live.outstanding - 1);
  sendFrame();
}

// Two frames in flight at most: while the server runs the model on one, the next has
// already arrived and waits there (a newer one replaces it), so the model never idles
// through the network round trip and JPEG encoding, yet nothing queues up: latency stays
// within two model runs. With one in flight the page reached half the model's speed.
const LIVE_DEPTH = 2;

function sendFrame() {
  const video = $("#camera");
  if (!live.running || !live.ws || live.ws.readyState !== WebSocket.OPEN) return;
  if (live.outstanding >= LIVE_DEPTH || live.encoding) return;
  if (!video.videoWidth) { setTimeout(sendFrame, 50); return; }
  const scale = Math.min(1, 320 / video.videoWidth);
  live.grab.width = Math.round(video.videoWidth * scale);
  live.grab.height = Math.round(video.videoHeight * scale);
  live.grab.getContext("2d").drawImage(video, 0, 0, live.grab.width, live.grab.height);
  live.outstanding += 1;
  live.encoding = true;
  const seq = ++live.seq;
  live.grab.toBlob(async (blob) => {
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    live.encoding = false;
    const message = new Uint8Array(4 + jpeg.length);
    new DataView(message.buffer).setUint32(0, seq, true);
    message.set(jpeg, 4);
    if (!live.ws || live.ws.readyState !== WebSocket.OPEN) { live.outstanding = 0; return; }
    live.sent[seq] = performance.now();
    live.ws.send(message);
    // fill the second slot with a later camera frame, not a copy of this one
    if (live.outstanding < LIVE_DEPTH) setTimeout(sendFrame, 15);
  }, "image/jpeg", 0.8);
}

function updateLiveStats() {
  const now = performance.now();
  live.frames = live.frames.filter((t) => now - t < 2000);
  live.latencies = live.latencies.slice(-30);
  const fps = live.frames.length > 1 ? (live.frames.length - 1) / ((live.frames[live.frames.length - 1] - live.frames[0]) / 1000) : 0;
  live.fps = fps;
  live.latency = live.latencies.length ? live.latencies.reduce((a, b) => a + b, 0) / live.latencies.length : NaN;
  $("#live-fps").textContent = fps.toFixed(1);
  $("#live-latency").textContent = isNaN(live.latency) ? "–" : live.latency.toFixed(0);
}
setInterval(updateLiveStats, 500);

async function drawLive() {
  if (!live.running) return;
  const video = $("#camera");
  const canvas = $("#live-canvas");
  const view = $("#live-view").value;
  const opacity = parseFloat($("#live-opacity").value);
  const mirror = $("#live-mirror").checked;
  const w = video.videoWidth || 640, h = video.videoHeight || 480;
  // Redraw only for a new camera frame, a new map or a changed option: at the display's
  // 60 Hz the software canvas took CPU the model needed on small machines.
  const key = [video.currentTime, live.mapVersion, view, opacity, mirror, $("#live-colormap").value, w, h].join();
  if (key === live.drawn && !live.mapCanvas === !live.map) { requestAnimationFrame(drawLive); return; }
  live.drawn = key;
  const panels = view === "side" ? 2 : 1;
  if (canvas.width !== w * panels || canvas.height !== h) { canvas.width = w * panels; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  if (live.map && !live.mapCanvas) {
    const table = lutCache[$("#live-colormap").value] || lutCache.inferno;
    if (table) live.mapCanvas = colourMap(live.map, live.mapMeta.width, live.mapMeta.height, table);
  }
  const drawPanel = (x, withFrame, withMap) => {
    ctx.save();
    if (mirror) ctx.setTransform(-1, 0, 0, 1, x + w, 0); else ctx.setTransform(1, 0, 0, 1, x, 0);
    if (withFrame) ctx.drawImage(video, 0, 0, w, h);
    if (withMap && live.mapCanvas) {
      ctx.globalAlpha = withFrame ? opacity : 1;
      ctx.drawImage(live.mapCanvas, 0, 0, w, h);
    }
    ctx.restore();
  };
  if (view === "heatmap") { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, w, h); drawPanel(0, false, true); }
  else if (view === "side") { drawPanel(0, true, false); drawPanel(w, true, true); }
  else drawPanel(0, true, true);
  if (live.map && !live.trained) stampUntrained(ctx, view === "side" ? w : 0);
  requestAnimationFrame(drawLive);
}

// one listener for the group: loadModels adds buttons for datasets and user models
$("#quality-buttons").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button || button.disabled) return;
  live.quality = button.dataset.quality;
  button.classList.add("loading");
  // the same connection: the server swaps the model between two frames
  if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({ type: "quality", quality: live.quality }));
});
$("#live-colormap").addEventListener("change", async (e) => { await lut(e.target.value); live.mapCanvas = null; });

// ---------------------------------------------------------------- images
const imageCards = [];

function addImages(files) {
  for (const file of files) {
    if (!file.type.startsWith("image/") && !/\.(jpe?g|png|webp|bmp|tiff?|gif)$/i.test(file.name)) continue;
    processImage(file);
  }
}

async function processImage(file) {
  const card = document.createElement("div");
  card.className = "card";
  card.innerHTML = `<h3></h3><div class="status">computing…</div><div class="view"></div><div class="links"></div>`;
  card.querySelector("h3").textContent = file.name || "pasted image";
  $("#image-results").prepend(card);
  const quality = $("#image-quality").value;
  const entry = { file, card, quality };
  imageCards.push(entry);
  try {
    const body = new FormData();
    body.append("file", file, file.name || "pasted.png");
    const response = await api(`v1/saliency?format=png&quality=${encodeURIComponent(quality)}`, { method: "POST", body });
    entry.trained = response.headers.get("X-Saliency-Trained") !== "false";
    entry.model = response.headers.get("X-Saliency-Model");
    entry.mapBlob = await response.blob();
    entry.mapUrl = URL.createObjectURL(entry.mapBlob);
    entry.map = await createImageBitmap(entry.mapBlob);
    entry.image = await createImageBitmap(file, { imageOrientation: "from-image" });
    card.querySelector(".status").textContent = entry.model + (entry.trained ? "" : " — not real saliency");
    card.querySelector(".status").classList.toggle("error", !entry.trained);
    const stem = (file.name || "pasted").replace(/\.[^.]*$/, "");
    const links = card.querySelector(".links");
    links.innerHTML = "";
    links.append(downloadLink("PNG", entry.mapUrl, stem + "_saliency.png", "download-png"));
    links.append(formatLink(entry, "16-bit PNG", "png16", stem + "_saliency16.png"));
    links.append(formatLink(entry, "npy", "npy", stem + "_saliency.npy"));
    await showImage(entry);
  } catch (error) {
    card.querySelector(".status").textContent = "error: " + error.message;
    card.querySelector(".status").classList.add("error");
  }
}

function downloadLink(label, url, name, cls) {
  const a = document.createElement("a");
  a.textContent = label;
  a.href = url;
  a.download = name;
  if (cls) a.className = cls;
  return a;
}

// 16-bit PNG and npy are fetched on demand (same upload, another format).
function formatLink(entry, label, format, name) {
  const a = downloadLink(label, "#", name);
  a.addEventListener("click", async (event) => {
    if (a.dataset.ready) return;
    event.preventDefault();
    const body = new FormData();
    body.append("file", entry.file, entry.file.name || "pasted.png");
    const response = await api(`v1/saliency?format=${format}&quality=${encodeURIComponent(entry.quality)}`, { method: "POST", body });
    a.href = URL.createObjectURL(await response.blob());
    a.dataset.ready = "1";
    a.click();
  });
  return a;
}

async function showImage(entry) {
  if (!entry.map) return;
  const view = $("#image-view").value;
  const holder = entry.card.querySelector(".view");
  holder.innerHTML = "";
  if (view === "map") {
    const img = document.createElement("img");
    img.src = entry.mapUrl;
    img.className = "result-map";
    holder.append(img);
    return;
  }
  const { width: w, height: h } = entry.map;
  const mapCanvas = document.createElement("canvas");
  mapCanvas.width = w; mapCanvas.height = h;
  mapCanvas.getContext("2d").drawImage(entry.map, 0, 0);
  const grey = mapCanvas.getContext("2d").getImageData(0, 0, w, h).data;
  const bytes = new Uint8Array(w * h);
  for (let i = 0; i < bytes.length; i++) bytes[i] = grey[i * 4];
  const coloured = colourMap(bytes, w, h, await lut($("#image-colormap").value));
  const panels = view === "side" ? 2 : 1;
  const canvas = document.createElement("canvas");
  canvas.width = w * panels; canvas.height = h;
  canvas.className = "result-" + view;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(entry.image, 0, 0, w, h);
  const x = view === "side" ? w : 0;
  if (view === "side") ctx.drawImage(entry.image, x, 0, w, h);
  ctx.globalAlpha = parseFloat($("#image-opacity").value);
  ctx.drawImage(coloured, x, 0);
  ctx.globalAlpha = 1;
  if (!entry.trained) stampUntrained(ctx, x);
  holder.append(canvas);
}

for (const id of ["#image-view", "#image-opacity", "#image-colormap"]) {
  $(id).addEventListener("change", () => imageCards.forEach(showImage));
}
$("#image-input").addEventListener("change", (e) => { addImages(e.target.files); e.target.value = ""; });
const drop = $("#drop-zone");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addImages(e.dataTransfer.files); });
document.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData ? e.clipboardData.files : [])];
  if (files.length) { addImages(files); document.querySelector('.tab[data-tab="images"]').click(); }
});

// ---------------------------------------------------------------- videos
const JOBS_KEY = "saliency-cam-jobs";
const savedJobs = () => JSON.parse(localStorage.getItem(JOBS_KEY) || "[]");
const saveJobs = (ids) => localStorage.setItem(JOBS_KEY, JSON.stringify(ids));

function videoMessage(text) { $("#video-message").textContent = text; $("#video-message").hidden = !text; }

$("#video-input").addEventListener("change", (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (file) uploadVideo(file);
});

function uploadVideo(file) {
  videoMessage("");
  const card = jobCard("upload-" + Date.now());
  card.querySelector("h3").textContent = file.name;
  card.querySelector(".status").textContent = "uploading…";
  const params = `quality=${encodeURIComponent($("#video-quality").value)}&view=${$("#video-view").value}`;
  const xhr = new XMLHttpRequest();  // XHR: fetch cannot report upload progress
  xhr.open("POST", "v1/videos?" + params);
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) card.querySelector("progress").value = e.loaded / e.total; };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status !== 202) {
      card.remove();
      videoMessage(file.name + ": " + (body.error ? body.error.message : xhr.status + " " + xhr.statusText));
      return;
    }
    card.remove();
    saveJobs([...savedJobs(), body.id]);
    trackJob(body.id);
  };
  xhr.onerror = () => { card.remove(); videoMessage(file.name + ": upload failed (connection lost)"); };
  const form = new FormData();
  form.append("file", file, file.name);
  xhr.send(form);
}

function jobCard(id) {
  let card = document.getElementById("job-" + id);
  if (!card) {
    card = document.createElement("div");
    card.className = "card";
    card.id = "job-" + id;
    card.innerHTML = `<h3></h3><progress max="1" value="0"></progress> <span class="status"></span>` +
      ` <button class="cancel">Cancel</button><div class="result"></div>`;
    $("#video-jobs").prepend(card);
  }
  return card;
}

async function trackJob(id) {
  const card = jobCard(id);
  card.querySelector(".cancel").onclick = async () => {
    try { await api("v1/videos/" + id, { method: "DELETE" }); } catch (error) { videoMessage(error.message); }
  };
  while (true) {
    let job;
    try {
      job = await (await api("v1/videos/" + id)).json();
    } catch (error) {
      card.querySelector(".status").textContent = error.message;  // expired or unknown
      card.querySelector(".cancel").hidden = true;
      saveJobs(savedJobs().filter((j) => j !== id));
      return;
    }
    card.querySelector("h3").textContent = job.filename + " (" + job.quality + ", " + job.view + ")";
    card.querySelector("progress").value = job.progress;
    const frames = job.total_frames ? ` ${job.frames_done}/${job.total_frames} frames` : "";
    card.querySelector(".status").textContent = job.state + frames + (job.error ? ": " + job.error : "") +
      (job.trained === false ? " — UNTRAINED model" : "");
    card.dataset.state = job.state;
    if (!["queued", "running"].includes(job.state)) {
      card.querySelector(".cancel").hidden = true;
      if (job.state === "done") await showVideo(card, job);
      return;
    }
    await new Promise((r) => setTimeout(r, 700));
  }
}

async function showVideo(card, job) {
  const blob = await (await api(job.download)).blob();  // with the token header
  const url = URL.createObjectURL(blob);
  const result = card.querySelector(".result");
  result.innerHTML = "";
  const video = document.createElement("video");
  video.controls = true;
  video.src = url;
  result.append(video, downloadLink("download", url, job.filename.replace(/\.[^.]*$/, "") + "_saliency.mp4", "download-video"));
}

// ---------------------------------------------------------------- start
(async function start() {
  try {
    await fillColormaps();
    await loadModels();
  } catch (error) {
    liveMessage("Cannot reach the server: " + error.message);
    return;
  }
  savedJobs().forEach(trackJob);  // jobs survive a page reload
  startLive();
})();
