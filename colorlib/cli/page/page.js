// colorlib serve: the page's only script. It talks to the routes of colorlib/cli/serve.py.
// Hints live here as the command line's JSON: {x, y, color} in the photo's own pixels.
"use strict";

const SWATCHES = ["#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e7d32", "#3a7bd5",
  "#1b3a6b", "#8e44ad", "#e8b89a", "#8d5524", "#7f8c8d", "#ffffff"];
// Every /api/ request carries this server start's token (colorlib/cli/guard.py).
const TOKEN = document.querySelector('meta[name="colorlib-token"]').content;
// Where the hints of every photo opened while this server runs are kept, so that a reload restores them.
const STORE = "colorlib-serve";
// The share of the view the photo may take in height.
const MAX_VIEW_HEIGHT = 0.75;
const $ = (id) => document.getElementById(id);
const state = {
  maxBytes: Infinity, instance: "", results: "",
  photo: null,      // {id, name, folder, width, height, key}
  hints: [], selected: -1, vividness: 1,
  busy: false, pending: false, resultUrl: null, grayUrl: null,
  opening: 0,       // photos on their way to the server: a hints file waits for them
  kept: {},         // key -> {name, folder, id, hints, vividness}: every photo opened while the server runs
  last: null,       // the key of the photo open now, kept for a reload
  files: new Map(), // key -> File: an upload the server closed is sent again
};

function api(path, options = {}) {
  return fetch(path, { ...options, headers: { "X-Colorlib-Token": TOKEN, ...(options.headers || {}) } });
}

function postJson(path, value) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
}

function showError(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function say(text) { $("timing").textContent = text; }

async function errorOf(response) {
  try { return (await response.json()).error || response.statusText; } catch (e) { return response.statusText; }
}

// "61.2 MB; at most 50 MB", or exact bytes where one decimal would hide the difference (as the server says).
function sizeText(size, limit) {
  const mb = (n) => (n / 2 ** 20).toFixed(1);
  const most = `${Number((limit / 2 ** 20).toPrecision(6))} MB`;
  if (mb(size) === mb(limit)) return `${size.toLocaleString("en")} bytes; at most ${limit.toLocaleString("en")} (${most})`;
  return `${mb(size)} MB; at most ${most}`;
}

function photoKey(name, folder, file) {
  return folder ? `folder:${name}` : `upload:${name}:${file ? `${file.size}:${file.lastModified}` : ""}`;
}

function storeKey() { return `${STORE}:${state.instance}`; }

function persist() {
  if (state.photo) {
    const { name, folder, id, key } = state.photo;
    state.kept[key] = { name, folder, id, hints: state.hints, vividness: state.vividness };
    state.last = key;
  }
  try { localStorage.setItem(storeKey(), JSON.stringify({ last: state.last, photos: state.kept })); } catch (e) { /* storage full or off */ }
}

function restoreStore() {
  for (let i = localStorage.length - 1; i >= 0; i -= 1) { // another server start's hints: that server is gone
    const key = localStorage.key(i);
    if (key.startsWith(`${STORE}:`) && key !== storeKey()) localStorage.removeItem(key);
  }
  try {
    const kept = JSON.parse(localStorage.getItem(storeKey()) || "{}");
    state.kept = kept.photos || {};
    state.last = kept.last || null;
  } catch (e) { state.kept = {}; }
}

function edit() { return { hints: state.hints, vividness: state.vividness }; }

// Send an upload again, or open a folder photo again, after the server closed it; true when it is open.
async function reopen() {
  const photo = state.photo;
  let response = null;
  if (photo.folder) response = await postJson("/api/photos/folder", { name: photo.name });
  else if (state.files.has(photo.key)) response = await sendFile(state.files.get(photo.key));
  if (!response || !response.ok) return false;
  photo.id = (await response.json()).id;
  persist();
  loadGray();
  return true;
}

// Ask for the preview with the current hints. Edits made while one is on its way are not queued:
// only the newest is sent when that one is back, so dragging never waits for positions already left.
// Resolves to true when this call's request succeeded (undefined when a newer edit took its place).
// refused: what to undo before the error is shown (a refused hints file puts the old hints back).
async function render(refused = () => {}) {
  if (!state.photo) return false;
  if (state.busy) { state.pending = true; return undefined; }
  state.busy = true;
  document.body.dataset.busy = "true";
  const started = performance.now();
  try {
    let response = await postJson(`/api/photos/${state.photo.id}/render`, edit());
    if (response.status === 404 && await reopen()) response = await postJson(`/api/photos/${state.photo.id}/render`, edit());
    if (!response.ok) { const why = await errorOf(response); refused(); showError(why); say(""); return false; }
    const url = URL.createObjectURL(await response.blob());
    const image = $("result");
    await new Promise((resolve) => { image.onload = resolve; image.onerror = resolve; image.src = url; });
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = url;
    const ms = performance.now() - started;
    showError("");
    say(`Updated in ${Math.round(ms)} ms (the server took ${response.headers.get("X-Colorize-Ms")} ms).`);
    document.body.dataset.editMs = ms.toFixed(0);
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    return true;
  } catch (error) {
    refused();
    showError(`The server did not answer (${error}). Is colorlib serve still running?`);
    say("");
    return false;
  } finally {
    state.busy = false;
    document.body.dataset.busy = String(state.pending);
    if (state.pending) { state.pending = false; render(); }
  }
}

function changed() { persist(); return render(); }

// Wait for a photo being opened and for the edit on its way, so that a hints file or a reference
// lands on the photo open when it is done, not on the one about to be replaced.
function settled() { return until(() => !state.busy && !state.opening); }

async function until(done) {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function loadGray() {
  const response = await api(`/api/photos/${state.photo.id}/gray`);
  if (!response.ok) return;
  if (state.grayUrl) URL.revokeObjectURL(state.grayUrl);
  state.grayUrl = URL.createObjectURL(await response.blob());
  $("gray").src = state.grayUrl;
}

function drawHints() {
  const layer = $("hints");
  layer.replaceChildren();
  state.hints.forEach((hint, index) => {
    const marker = document.createElement("div");
    marker.className = "hint" + (index === state.selected ? " selected" : "") + (hint.reference ? " from-reference" : "");
    marker.style.left = `${(100 * hint.x) / state.photo.width}%`;
    marker.style.top = `${(100 * hint.y) / state.photo.height}%`;
    marker.style.background = hint.color;
    marker.title = `Hint ${index + 1}${hint.reference ? " (from the reference)" : ""}: ${hint.color} at (${Math.round(hint.x)}, ${Math.round(hint.y)})`;
    marker.dataset.index = String(index);
    marker.dataset.x = String(hint.x);
    marker.dataset.y = String(hint.y);
    marker.dataset.color = hint.color;
    layer.appendChild(marker);
  });
  const hint = state.hints[state.selected];
  $("selected").textContent = hint
    ? `Hint ${state.selected + 1} selected: ${hint.color}. Pick a colour to change it; Esc or a click on the photo deselects.`
    : "No hint selected: a click on the photo places one in the colour above.";
  $("remove").disabled = !hint;
  $("clear").disabled = state.hints.length === 0;
}

// A pointer position -> a point in the photo's own pixels, inside the photo.
function photoPoint(event) {
  const box = $("stage").getBoundingClientRect();
  const fx = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 0.9999);
  const fy = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 0.9999);
  return { x: Math.round(fx * state.photo.width * 10) / 10, y: Math.round(fy * state.photo.height * 10) / 10 };
}

function select(index) { state.selected = index; drawHints(); }

function removeSelected() {
  if (state.selected < 0) return;
  state.hints.splice(state.selected, 1);
  select(-1);
  changed();
}

// The photo fills the middle column (small photos are scaled up), at most MAX_VIEW_HEIGHT of the window high.
function fitStage() {
  if (!state.photo) return;
  const work = $("work");
  const style = getComputedStyle(work);
  const width = work.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const aspect = state.photo.width / state.photo.height;
  const shown = Math.max(1, Math.min(width, window.innerHeight * MAX_VIEW_HEIGHT * aspect));
  $("stage").style.width = `${shown}px`;
  $("stage").style.height = `${shown / aspect}px`;
}

function setCompare(value) {
  $("compare").value = String(value);
  $("stage").style.setProperty("--cut", `${100 - value}%`);
  $("divider").hidden = value <= 0 || value >= 100; // no line at the photo's edge
}

function setupStage() {
  const stage = $("stage");
  // -1: nothing pressed; a hint's index while it is pressed (a press without a move selects it).
  let pressed = -1;
  let moved = false;
  stage.addEventListener("pointerdown", (event) => {
    if (!state.photo || event.button !== 0) return;
    const marker = event.target.closest(".hint");
    moved = false;
    if (marker) {
      pressed = Number(marker.dataset.index);
    } else if (state.selected >= 0) {
      select(-1); // the first click away from a selected hint only deselects it
      return;
    } else {
      const point = photoPoint(event);
      state.hints.push({ x: point.x, y: point.y, color: $("colour").value });
      pressed = state.hints.length - 1;
      moved = true; // a new hint is placed, not selected
      drawHints();
      changed();
    }
    stage.setPointerCapture(event.pointerId);
  });
  stage.addEventListener("pointermove", (event) => {
    if (pressed < 0) return;
    Object.assign(state.hints[pressed], photoPoint(event));
    delete state.hints[pressed].reference; // moved by hand: a new reference no longer replaces it
    moved = true;
    drawHints();
    changed();
  });
  stage.addEventListener("pointerup", () => {
    if (pressed >= 0 && !moved) {
      select(pressed);
      $("colour").value = state.hints[pressed].color;
    }
    pressed = -1;
  });
  stage.addEventListener("pointercancel", () => { pressed = -1; });
  stage.addEventListener("contextmenu", (event) => {
    const marker = event.target.closest(".hint");
    if (!marker) return;
    event.preventDefault();
    select(Number(marker.dataset.index));
    removeSelected();
  });
  // Only while the photo has the focus: Backspace in the photo list or a field is theirs.
  stage.addEventListener("keydown", (event) => {
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      removeSelected();
    } else if (event.key === "Escape") {
      select(-1);
    }
  });
  // The gray photo is left of the divider, the colours right of it; the slider gives the colours' share.
  $("compare").addEventListener("input", () => setCompare(Number($("compare").value)));
  window.addEventListener("resize", fitStage);
}

// Show a photo the server has opened ({id, name, folder, width, height}) with the hints kept for it.
async function show(info, key, started) {
  if (state.photo) persist();
  state.photo = { ...info, key };
  const kept = state.kept[key];
  state.hints = kept ? kept.hints : [];
  state.vividness = kept ? kept.vividness : 1;
  state.selected = -1;
  $("vividness").value = String(state.vividness);
  $("vividness-value").textContent = state.vividness.toFixed(2);
  $("folder").value = info.folder ? info.name : "";
  $("gray").removeAttribute("src");
  $("result").removeAttribute("src");
  $("stage").hidden = false;
  $("compare-row").hidden = false;
  fitStage();
  setCompare(100); // the view opens on the colours
  for (const id of ["download", "save-hints", "load-hints", "reference"]) $(id).disabled = false;
  for (const id of ["load-label", "reference-label"]) $(id).classList.remove("disabled");
  document.title = `${info.name}: colorlib`;
  drawHints();
  persist();
  loadGray();
  await until(() => !state.busy); // the last photo's edit
  const ok = await render();
  if (ok) {
    const ms = performance.now() - started;
    document.body.dataset.openMs = ms.toFixed(0);
    const restored = state.hints.length ? `; its ${state.hints.length} hint(s) are back` : "";
    say(`Opened ${info.name}: first colours in ${Math.round(ms)} ms${restored}.`);
  }
}

async function opened(response, key, started) {
  if (!response.ok) { showError(await errorOf(response)); say(""); return false; }
  await show(await response.json(), key, started);
  return true;
}

function sendFile(file) {
  return api("/api/photos", {
    method: "POST",
    headers: { "X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream" },
    body: file,
  });
}

async function openFile(file) {
  if (!file) return;
  if (file.size > state.maxBytes) {
    showError(`${file.name} is too large (${sizeText(file.size, state.maxBytes)}).`);
    say("");
    return;
  }
  const started = performance.now();
  showError("");
  say(`Opening ${file.name}…`);
  const key = photoKey(file.name, false, file);
  state.opening += 1;
  try {
    if (await opened(await sendFile(file), key, started)) state.files.set(key, file);
  } catch (error) {
    showError(`${file.name} could not be sent (${error}); the server refuses photos over its size limit.`);
    say("");
  } finally {
    state.opening -= 1;
  }
}

async function openFolderPhoto(name) {
  const started = performance.now();
  showError("");
  say(`Opening ${name}…`);
  state.opening += 1;
  try {
    await opened(await postJson("/api/photos/folder", { name }), photoKey(name, true), started);
  } finally {
    state.opening -= 1;
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
    if (!hint) return; // the colour of the next hint placed
    hint.color = $("colour").value;
    delete hint.reference; // recoloured by hand: a new reference no longer replaces it
    drawHints();
    changed();
  });
  $("remove").addEventListener("click", removeSelected);
  $("clear").addEventListener("click", () => { state.hints = []; select(-1); changed(); });
  $("vividness").addEventListener("input", () => {
    state.vividness = Number($("vividness").value);
    $("vividness-value").textContent = state.vividness.toFixed(2);
    changed();
  });
  $("download").addEventListener("click", async () => {
    say("Colourizing at full resolution…");
    let response = await postJson(`/api/photos/${state.photo.id}/save`, edit());
    if (response.status === 404 && await reopen()) response = await postJson(`/api/photos/${state.photo.id}/save`, edit());
    if (!response.ok) { showError(await errorOf(response)); say(""); return; }
    const name = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    const savedAs = decodeURIComponent(response.headers.get("X-Saved-As") || "");
    download(await response.blob(), name ? name[1] : "colorized.png");
    say(`Downloaded ${name ? name[1] : "the result"}; also saved as ${savedAs} in ${state.results}.`);
  });
  $("save-hints").addEventListener("click", () => {
    const text = JSON.stringify(state.hints, null, 1);
    const stem = state.photo.name.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
    download(new Blob([text + "\n"], { type: "application/json" }), `${stem}-hints.json`);
  });
  $("load-hints").addEventListener("change", async () => {
    const file = $("load-hints").files[0];
    $("load-hints").value = "";
    if (!file) return;
    let hints;
    try { hints = JSON.parse(await file.text()); } catch (error) { showError(`${file.name} is not JSON: ${error.message}`); return; }
    if (!Array.isArray(hints)) { showError(`${file.name} must hold a list of {"x", "y", "color"} points.`); return; }
    await settled();
    const before = state.hints;
    state.hints = hints;
    select(-1);
    if (await render(() => { state.hints = before; drawHints(); })) persist(); // refused: the old hints stay
  });
}

// A colour reference photo: the server matches it to the open photo and answers with hints, which
// join the hints placed by hand (those of an earlier reference are replaced).
async function useReference(file) {
  if (!file || !state.photo) return;
  await settled(); // the photo the reference is matched to is the one open when it is done
  const photo = state.photo;
  if (file.size > state.maxBytes) { showError(`${file.name} is too large (${sizeText(file.size, state.maxBytes)}).`); return; }
  say(`Matching ${file.name} to the photo…`);
  const send = () => api(`/api/photos/${state.photo.id}/reference`, {
    method: "POST",
    headers: { "X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream" },
    body: file,
  });
  let response = await send();
  if (response.status === 404 && await reopen()) response = await send();
  if (!response.ok) { showError(await errorOf(response)); say(""); return; }
  const found = (await response.json()).hints.map((hint) => ({ ...hint, reference: true }));
  await settled();
  if (state.photo !== photo) { say(`${file.name} was matched to ${photo.name}, which is no longer open: no hints.`); return; }
  state.hints = state.hints.filter((hint) => !hint.reference).concat(found);
  select(-1);
  const ok = await changed();
  if (ok) {
    say(found.length ? `${file.name} gave ${found.length} hint(s) where it matches the photo.`
      : `${file.name} matched no part of the photo closely enough: no hints.`);
  }
}

function setupOpening() {
  const drop = $("drop");
  $("file").addEventListener("change", () => { openFile($("file").files[0]); $("file").value = ""; });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  // A photo dropped anywhere on the page opens (the browser would otherwise leave the page for it).
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) openFile(event.dataTransfer.files[0]);
  });
  $("reference").addEventListener("change", () => { useReference($("reference").files[0]); $("reference").value = ""; });
  $("folder").addEventListener("change", () => { if ($("folder").value) openFolderPhoto($("folder").value); });
}

// After a reload: the photo open before it, with its hints; an upload the server has closed must be dropped again.
async function restoreLast() {
  const kept = state.kept[state.last];
  if (!kept) return;
  if (kept.folder) { await openFolderPhoto(kept.name); return; }
  const response = await api(`/api/photos/${kept.id}`);
  const info = response.ok ? await response.json() : null;
  if (info && info.name === kept.name) { await show(info, state.last, performance.now()); return; }
  say(`${kept.name} was open before the page was reloaded, and the server has closed it: open it again and ` +
    `its ${kept.hints.length} hint(s) come back.`);
}

async function start() {
  setupStage();
  setupTools();
  setupOpening();
  const response = await api("/api/status");
  if (!response.ok) { showError(await errorOf(response)); return; }
  const status = await response.json();
  $("model").textContent = `Colorizer: ${status.model} Downloads are also saved in ${status.results}.`;
  state.maxBytes = status.max_bytes;
  state.results = status.results;
  state.instance = status.instance;
  for (const name of status.folder) $("folder").add(new Option(name, name));
  $("folder-label").hidden = status.folder.length === 0;
  restoreStore();
  await restoreLast();
  document.body.dataset.ready = "true";
}

start();
