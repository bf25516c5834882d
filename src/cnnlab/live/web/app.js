// cnnlab live page: webcam frames (or a photo) -> POST /api/predict -> boxes, labels and bars on a canvas, a strip
// of the expressions over the last minute, and the session's table as CSV (the columns of `cnnlab live --csv`).
"use strict";

let COLOURS = {};  // from /api/info: the colours of cnnlab.live.colours
let CLASSES = [];
const STRIP_SECONDS = 60;
const $ = (id) => document.getElementById(id);
const video = $("video"), overlay = $("overlay"), grab = document.createElement("canvas");
const stream = Math.random().toString(36).slice(2);  // this tab's frames share smoothing on the server
let camera = null, running = false, frames = 0, started = 0;
let rows = [];     // the session's table: one row per face per camera frame
let frameNo = 0;   // camera frames answered since the camera started
let history = [];  // [{t, faces}] of the last STRIP_SECONDS, for the strip
const colour = (label) => COLOURS[label] || "#b4b4b4";

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function show(data) {
  frames += 1;
  document.body.dataset.frames = frames;
  document.body.dataset.faces = data.faces.length;
  document.body.dataset.labels = data.faces.map((f) => f.label).join(",");
  $("result").textContent = JSON.stringify(data.faces.map((f) => ({box: f.box, label: f.label})));
}

// The session's table and the strip: each camera frame's faces at its time since the camera started.
function record(data, t) {
  const frame = frameNo++;
  for (const f of data.faces) {
    rows.push([frame, t.toFixed(3), f.face, ...f.box, f.label, ...CLASSES.map((c) => f.probabilities[c])]);
  }
  document.body.dataset.rows = rows.length;
  $("download").disabled = rows.length === 0;
  history.push({t, faces: data.faces});
  while (history.length && history[0].t < t - STRIP_SECONDS) history.shift();
  drawStrip(t);
}

// One row per face (track) seen in the last minute, coloured by its expression frame by frame; now is at the right.
function drawStrip(now) {
  const canvas = $("strip"), g = canvas.getContext("2d");
  canvas.width = canvas.clientWidth || 640;
  const ids = [...new Set(history.flatMap((h) => h.faces.map((f) => f.face)))].slice(-4);
  const rowH = 18, top = 4;
  canvas.height = top + Math.max(ids.length, 1) * rowH + 16;
  g.fillStyle = "#111";
  g.fillRect(0, 0, canvas.width, canvas.height);
  const left = 52, width = canvas.width - left - 4;
  const x = (t) => Math.round(left + width * (1 - (now - t) / STRIP_SECONDS));  // whole pixels: exact colours
  g.font = "11px system-ui, sans-serif";
  ids.forEach((id, row) => {
    g.fillStyle = "#ddd";
    g.fillText(`face ${id}`, 4, top + row * rowH + 13);
  });
  for (let i = 0; i < history.length; i++) {
    const h = history[i], next = i + 1 < history.length ? history[i + 1].t : now;
    for (const f of h.faces) {
      const row = ids.indexOf(f.face);
      if (row < 0) continue;
      g.fillStyle = colour(f.label);
      g.fillRect(x(h.t), top + row * rowH, Math.max(x(next) - x(h.t), 1), rowH - 3);
    }
  }
  g.fillStyle = "#aaa";
  g.fillText(`the last ${STRIP_SECONDS} s`, left, canvas.height - 3);
  g.fillText("now", canvas.width - 28, canvas.height - 3);
}

function downloadCsv() {
  const header = ["frame", "time_s", "face", "x", "y", "w", "h", "label", ...CLASSES];
  const text = [header, ...rows].map((r) => r.join(",")).join("\n") + "\n";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
  a.download = "cnnlab-expressions.csv";
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// Boxes, a label and one bar per class, on a canvas whose pixels match the analysed image.
function drawFaces(canvas, data, mirror) {
  canvas.width = data.width;
  canvas.height = data.height;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const s = Math.max(1, data.width / 640);  // line and text size for large photos
  for (const f of data.faces) {
    let [x, y, w, h] = f.box;
    if (mirror) x = data.width - x - w;
    const c = colour(f.label);
    g.lineWidth = 3 * s;
    g.strokeStyle = c;
    g.strokeRect(x, y, w, h);
    g.font = `bold ${16 * s}px system-ui, sans-serif`;
    const label = `${f.label} ${Math.round(100 * f.probabilities[f.label])}%`;
    const tw = g.measureText(label).width;
    g.fillStyle = c;
    g.fillRect(x, Math.max(y - 22 * s, 0), tw + 8 * s, 22 * s);
    g.fillStyle = "#000";
    g.fillText(label, x + 4 * s, Math.max(y - 22 * s, 0) + 17 * s);
    // a bar chart under the box (inside its bottom at the frame's edge), as wide as the box
    const names = Object.keys(f.probabilities), panelH = 50 * s, pw = Math.max(w, 7 * 14 * s);
    const px = Math.min(Math.max(x, 0), Math.max(data.width - pw, 0));
    const py = y + h + 2 * s + panelH <= data.height ? y + h + 2 * s : Math.max(Math.min(y + h, data.height) - panelH, 0);
    const step = pw / names.length, base = py + panelH - 13 * s;
    g.fillStyle = "rgba(0,0,0,0.65)";
    g.fillRect(px, py, pw, panelH);
    g.font = `${10 * s}px system-ui, sans-serif`;
    names.forEach((name, i) => {
      const bh = f.probabilities[name] * (panelH - 17 * s);
      g.fillStyle = colour(name);
      g.fillRect(px + i * step + 2 * s, base - bh, step - 4 * s, bh);
      g.fillStyle = "#eee";
      g.fillText(name.slice(0, 2), px + i * step + 2 * s, py + panelH - 3 * s);
    });
  }
}

async function predict(blob, query = "") {
  const res = await fetch("/api/predict" + query, {method: "POST", body: blob,
                                                   headers: {"Content-Type": blob.type || "application/octet-stream"}});
  const data = await res.json().catch(() => ({error: `HTTP ${res.status}`}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

async function loop() {
  while (running) {
    if (!video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
    const w = Math.min(640, video.videoWidth), h = Math.round(video.videoHeight * w / video.videoWidth);
    grab.width = w;
    grab.height = h;
    grab.getContext("2d").drawImage(video, 0, 0, w, h);
    const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
    try {
      const data = await predict(blob, "?stream=" + stream);
      if (!running) break;
      drawFaces(overlay, data, true);
      show(data);
      record(data, (performance.now() - started) / 1000);
      const fps = frames / ((performance.now() - started) / 1000);
      status(`${data.faces.length} face(s) · ${fps.toFixed(1)} frames/s · server ${data.ms} ms/frame`);
    } catch (e) {
      status(`server: ${e.message}`, true);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function startCamera() {
  $("camera").disabled = true;
  status("starting the camera…");
  try {
    camera = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: false});
  } catch (e) {
    status(`no camera (${e.name}): allow the camera, or upload a photo`, true);
    $("camera").textContent = "Start camera";
    $("camera").disabled = false;
    return;
  }
  $("stage").replaceChildren(video, overlay);
  video.srcObject = camera;
  await video.play().catch(() => {});
  running = true;
  frames = 0;
  started = performance.now();
  rows = [];
  history = [];
  frameNo = 0;
  $("camera").textContent = "Stop camera";
  $("camera").disabled = false;
  loop();
}

function stopCamera() {
  running = false;
  if (camera) camera.getTracks().forEach((t) => t.stop());
  camera = null;
  $("camera").textContent = "Start camera";
  status("camera stopped");
}

$("camera").addEventListener("click", () => (running ? stopCamera() : startCamera()));
$("download").addEventListener("click", downloadCsv);

$("photo").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  stopCamera();
  status(`analysing ${file.name}…`);
  try {
    const data = await predict(file);
    const bitmap = await createImageBitmap(file);
    const photo = document.createElement("canvas");
    photo.className = "photo";
    photo.width = bitmap.width;
    photo.height = bitmap.height;
    photo.getContext("2d").drawImage(bitmap, 0, 0);
    $("stage").replaceChildren(photo, overlay);
    drawFaces(overlay, data, false);
    show(data);
    status(`${file.name}: ${data.faces.length} face(s) · ${data.ms} ms${data.hint ? ": " + data.hint : ""}`);
  } catch (e) {
    status(`${file.name}: ${e.message}`, true);
  }
});

async function start() {
  try {
    const info = await (await fetch("/api/info")).json();
    COLOURS = info.colours || {};
    CLASSES = info.classes || [];
  } catch (e) {
    status(`server: ${e.message}`, true);
  }
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    startCamera();
  } else {
    status("this browser gives no camera to this page (open it as http://127.0.0.1 or localhost); upload a photo",
           true);
  }
}

start();
