// colorlib serve: the page's only script. It talks to the routes of colorlib/cli/serve.py.
// Hints live here as the command line's JSON: {x, y, color} in the photo's own pixels.
"use strict";

const SWATCHES = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e7d32", "#3a7bd5",
  "#1b3a6b", "#8e44ad", "#e8b89a", "#8d5524", "#7f8c8d", "#ffffff"];
const $ = (id) => document.getElementById(id);
const state = { maxBytes: Infinity, photo: null, hints: [], selected: -1, vividness: 1, busy: false, pending: false, resultUrl: null };

function showError(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

async function errorOf(response) {
  try { return (await response.json()).error || response.statusText; } catch (e) { return response.statusText; }
}

function edit() { return JSON.stringify({ hints: state.hints, vividness: state.vividness }); }

// Ask for the preview with the current hints. Edits made while one is on its way are folded into
// the next request, so dragging never queues up stale work.
// Resolves to true when this call's request succeeded (undefined when it was folded into the next).
async function render() {
  if (!state.photo) return false;
  if (state.busy) { state.pending = true; return undefined; }
  state.busy = true;
  document.body.dataset.busy = "true";
  const started = performance.now();
  try {
    const response = await fetch(`/api/photos/${state.photo.id}/render`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: edit() });
    if (!response.ok) { showError(await errorOf(response)); return false; }
    const url = URL.createObjectURL(await response.blob());
    const image = $("result");
    await new Promise((resolve) => { image.onload = resolve; image.onerror = resolve; image.src = url; });
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = url;
    const ms = performance.now() - started;
    showError("");
    $("timing").textContent = `Updated in ${Math.round(ms)} ms (the server took ${response.headers.get("X-Colorize-Ms")} ms).`;
    document.body.dataset.editMs = ms.toFixed(0);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    return true;
  } catch (error) {
    showError(`The server did not answer (${error}). Is colorlib serve still running?`);
    return false;
  } finally {
    state.busy = false;
    document.body.dataset.busy = String(state.pending);
    if (state.pending) { state.pending = false; render(); }
  }
}

function drawHints() {
  const layer = $("hints");
  layer.replaceChildren();
  state.hints.forEach((hint, index) => {
    const marker = document.createElement("div");
    marker.className = "hint" + (index === state.selected ? " selected" : "");
    marker.style.left = `${(100 * hint.x) / state.photo.width}%`;
    marker.style.top = `${(100 * hint.y) / state.photo.height}%`;
    marker.style.background = hint.color;
    marker.title = `Hint ${index + 1}: ${hint.color} at (${Math.round(hint.x)}, ${Math.round(hint.y)})`;
    marker.dataset.index = String(index);
    marker.dataset.x = String(hint.x);
    marker.dataset.y = String(hint.y);
    layer.appendChild(marker);
  });
  const hint = state.hints[state.selected];
  $("selected").textContent = hint ? `Hint ${state.selected + 1} selected: ${hint.color}.` : "No hint selected.";
  $("remove").disabled = !hint;
  $("clear").disabled = state.hints.length === 0;
}

// A pointer position -> a point in the photo's own pixels, inside the photo.
function photoPoint(event) {
  const box = $("gray").getBoundingClientRect();
  const fx = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 0.9999);
  const fy = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 0.9999);
  return { x: Math.round(fx * state.photo.width * 10) / 10, y: Math.round(fy * state.photo.height * 10) / 10 };
}

function select(index) { state.selected = index; drawHints(); }

function removeSelected() {
  if (state.selected < 0) return;
  state.hints.splice(state.selected, 1);
  select(-1);
  render();
}

function setupStage() {
  const stage = $("stage");
  let dragging = -1;
  stage.addEventListener("pointerdown", (event) => {
    if (!state.photo || event.button !== 0) return;
    const marker = event.target.closest(".hint");
    if (marker) {
      dragging = Number(marker.dataset.index);
      select(dragging);
      $("colour").value = state.hints[dragging].color;
    } else {
      const point = photoPoint(event);
      state.hints.push({ x: point.x, y: point.y, color: $("colour").value });
      dragging = state.hints.length - 1;
      select(dragging);
      render();
    }
    stage.setPointerCapture(event.pointerId);
  });
  stage.addEventListener("pointermove", (event) => {
    if (dragging < 0) return;
    Object.assign(state.hints[dragging], photoPoint(event));
    drawHints();
    render();
  });
  const stop = () => { dragging = -1; };
  stage.addEventListener("pointerup", stop);
  stage.addEventListener("pointercancel", stop);
  stage.addEventListener("contextmenu", (event) => {
    const marker = event.target.closest(".hint");
    if (!marker) return;
    event.preventDefault();
    select(Number(marker.dataset.index));
    removeSelected();
  });
  document.addEventListener("keydown", (event) => {
    if ((event.key === "Delete" || event.key === "Backspace") && event.target.tagName !== "INPUT") removeSelected();
  });
  // The gray photo is left of the divider, the colours right of it; the slider gives the colours' share.
  $("compare").addEventListener("input", () => stage.style.setProperty("--cut", `${100 - $("compare").value}%`));
}

async function opened(response) {
  if (!response.ok) { showError(await errorOf(response)); return; }
  state.photo = await response.json();
  state.hints = [];
  state.selected = -1;
  $("gray").src = `/api/photos/${state.photo.id}/gray`;
  $("stage").hidden = false;
  $("compare-row").hidden = false;
  for (const id of ["download", "save-hints", "load-hints"]) $(id).disabled = false;
  document.title = `${state.photo.name}: colorlib`;
  drawHints();
  await render();
}

async function openFile(file) {
  if (!file) return;
  if (file.size > state.maxBytes) {
    showError(`${file.name} is too large (${(file.size / 2 ** 20).toFixed(1)} MB; at most ${(state.maxBytes / 2 ** 20).toFixed(0)} MB).`);
    return;
  }
  showError("");
  $("timing").textContent = `Opening ${file.name}…`;
  try {
    await opened(await fetch("/api/photos", {
      method: "POST", headers: { "X-Filename": encodeURIComponent(file.name) }, body: file }));
  } catch (error) {
    showError(`${file.name} could not be sent (${error}); the server refuses photos over its size limit.`);
  }
}

function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function setupTools() {
  for (const colour of SWATCHES) {
    const swatch = document.createElement("button");
    swatch.type = "button";
    swatch.style.background = colour;
    swatch.title = colour;
    swatch.addEventListener("click", () => { $("colour").value = colour; $("colour").dispatchEvent(new Event("input")); });
    $("swatches").appendChild(swatch);
  }
  $("colour").addEventListener("input", () => {
    const hint = state.hints[state.selected];
    if (!hint) return;
    hint.color = $("colour").value;
    drawHints();
    render();
  });
  $("remove").addEventListener("click", removeSelected);
  $("clear").addEventListener("click", () => { state.hints = []; select(-1); render(); });
  $("vividness").addEventListener("input", () => {
    state.vividness = Number($("vividness").value);
    $("vividness-value").textContent = state.vividness.toFixed(2);
    render();
  });
  $("download").addEventListener("click", async () => {
    $("timing").textContent = "Colourizing at full resolution…";
    const response = await fetch(`/api/photos/${state.photo.id}/save`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: edit() });
    if (!response.ok) { showError(await errorOf(response)); return; }
    const name = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    download(await response.blob(), name ? name[1] : "colorized.png");
    $("timing").textContent = `Downloaded ${name ? name[1] : "the result"}.`;
  });
  $("save-hints").addEventListener("click", () => {
    const text = JSON.stringify(state.hints, null, 1);
    const stem = state.photo.name.replace(/\.[^.]*$/, "");
    download(new Blob([text + "\n"], { type: "application/json" }), `${stem}-hints.json`);
  });
  $("load-hints").addEventListener("change", async () => {
    const file = $("load-hints").files[0];
    $("load-hints").value = "";
    if (!file) return;
    let hints;
    try { hints = JSON.parse(await file.text()); } catch (error) { showError(`${file.name} is not JSON: ${error.message}`); return; }
    if (!Array.isArray(hints)) { showError(`${file.name} must hold a list of {"x", "y", "color"} points.`); return; }
    while (state.busy) await new Promise((resolve) => setTimeout(resolve, 20));
    const before = state.hints;
    state.hints = hints;
    select(-1);
    if (!(await render())) { state.hints = before; drawHints(); } // refused: keep the old hints
  });
}

function setupOpening() {
  const drop = $("drop");
  $("file").addEventListener("change", () => openFile($("file").files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  // A photo dropped anywhere on the page opens (the browser would otherwise leave the page for it).
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) openFile(event.dataTransfer.files[0]);
  });
  $("folder").addEventListener("change", async () => {
    const name = $("folder").value;
    if (!name) return;
    $("timing").textContent = `Opening ${name}…`;
    await opened(await fetch("/api/photos/folder", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }) }));
  });
}

async function start() {
  setupStage();
  setupTools();
  setupOpening();
  const status = await (await fetch("/api/status")).json();
  $("model").textContent = `Colorizer: ${status.model} Downloads are also saved in ${status.results}.`;
  state.maxBytes = status.max_bytes;
  for (const name of status.folder) $("folder").add(new Option(name, name));
  $("folder-label").hidden = status.folder.length === 0;
  document.body.dataset.ready = "true";
}

start();
