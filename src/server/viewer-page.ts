/**
 * The viewer page `dosna serve` answers at "/": one HTML document with its script inline (no build
 * step, no assets, nothing fetched from elsewhere), speaking only to this server's /api routes.
 *
 * Left, the tree of the served pools (groups and datasets, opened on click). Right, the chosen
 * node's metadata (shape, dtype, chunks, shards, codecs, attributes) and, for a dataset:
 * - N ≥ 2 dimensions: a heatmap of a 2-D slice. Two selects choose the image's row and column
 *   axes, a slider per other axis picks its index; colormap (viridis, the default, perceptually
 *   uniform; magma; gray), contrast limits (min / max inputs, "auto" takes the 2nd and 98th
 *   percentiles of the finite values in view), a colorbar, NaN drawn in magenta, the fill value
 *   counted. Wheel zooms, drag pans: each view fetches only the window in view, strided down to
 *   the canvas's pixels (so only the chunks in view are read). Shift-click draws the line through
 *   that row as a line plot.
 * - 1 dimension: a line plot.
 * - A histogram of the values in view.
 * State is in `window.dosnaViewer` (tests read it), and the canvas has id "heatmap".
 */
import { COLORMAPS, NAN_COLOUR } from "./colormaps.js";

const PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dosna</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; font: 13px system-ui, sans-serif; display: flex; height: 100vh; color: #222; }
  #tree { width: 260px; overflow: auto; border-right: 1px solid #ccc; padding: 8px; box-sizing: border-box; }
  #tree ul { list-style: none; padding-left: 14px; margin: 0; }
  #tree li > span { cursor: pointer; padding: 1px 3px; border-radius: 3px; display: inline-block; }
  #tree li > span:hover { background: #eef; }
  #tree li > span.selected { background: #cde; }
  #main { flex: 1; overflow: auto; padding: 10px; }
  #controls label { margin-right: 10px; white-space: nowrap; }
  #controls input[type=number] { width: 80px; }
  #meta { font-family: ui-monospace, monospace; white-space: pre-wrap; background: #f7f7f7; padding: 6px; max-height: 160px; overflow: auto; }
  canvas { border: 1px solid #ddd; image-rendering: pixelated; }
  #status { color: #a00; min-height: 1.2em; }
  .row { display: flex; gap: 12px; align-items: flex-start; margin-top: 8px; }
</style>
</head>
<body>
<nav id="tree"><b>pools</b><ul id="pools"></ul></nav>
<main id="main">
  <div id="title"><b>select a dataset</b></div>
  <div id="meta"></div>
  <div id="controls"></div>
  <div id="status"></div>
  <div class="row">
    <canvas id="heatmap" width="512" height="512" hidden></canvas>
    <canvas id="colorbar" width="24" height="512" hidden></canvas>
    <div id="scale"></div>
  </div>
  <div class="row">
    <canvas id="line" width="512" height="160" hidden></canvas>
    <canvas id="histogram" width="256" height="160" hidden></canvas>
  </div>
  <section id="nearest" hidden><h4>nearest rows</h4>
    <label>row <input id="nearest-row" type="number" min="0" value="0"></label>
    <label>k <input id="nearest-k" type="number" min="1" value="5"></label>
    <label>metric <select id="nearest-metric"><option>l2</option><option>cosine</option><option>ip</option></select></label>
    <button id="nearest-go">search</button>
    <pre id="nearest-out"></pre>
  </section>
  <section id="lineage" hidden><h4>lineage</h4><svg id="lineage-graph" width="700" height="10"></svg></section>
  <section id="log" hidden><h4>log</h4><ol id="log-list"></ol></section>
</main>
<script type="module">
const token = new URLSearchParams(location.search).get("token");
const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
const status = (text) => { document.getElementById("status").textContent = text || ""; };
const enc = (path) => path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
/** The version shown per repository pool (branch, tag or snapshot), set by its picker. */
const refs = {};
const withRef = (pool, url) => refs[pool] ? url + (url.includes("?") ? "&" : "?") + "ref=" + encodeURIComponent(refs[pool]) : url;

async function getJson(url) {
  const r = await fetch(withToken(url));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
  return body;
}

/** A .npy response: { shape, data } (little-endian numeric dtypes). */
async function getNpy(url) {
  const r = await fetch(withToken(url));
  if (!r.ok) { const body = await r.json(); throw new Error(body.error ? body.error.message : r.statusText); }
  const bytes = new Uint8Array(await r.arrayBuffer());
  const major = bytes[6];
  const headerLength = major === 1 ? bytes[8] | (bytes[9] << 8) : new DataView(bytes.buffer).getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = bytes.slice(start + headerLength);
  const kinds = { "<f4": Float32Array, "<f8": Float64Array, "|i1": Int8Array, "|u1": Uint8Array, "|b1": Uint8Array, "<i2": Int16Array, "<u2": Uint16Array, "<i4": Int32Array, "<u4": Uint32Array, "<i8": BigInt64Array, "<u8": BigUint64Array };
  const Kind = kinds[descr];
  if (!Kind) throw new Error("cannot show dtype " + descr);
  const raw = new Kind(body.buffer, 0, body.byteLength / Kind.BYTES_PER_ELEMENT);
  const data = raw instanceof BigInt64Array || raw instanceof BigUint64Array ? Float64Array.from(raw, Number) : raw;
  return { shape, data };
}

// Colormaps and the NaN colour: the server's (colormaps.ts), so the page and format=png agree.
const MAPS = __COLORMAPS__;
const NAN_COLOUR = __NAN_COLOUR__;
function colour(map, t) {
  const anchors = MAPS[map];
  const x = Math.min(1, Math.max(0, t)) * (anchors.length - 1);
  const i = Math.min(anchors.length - 2, Math.floor(x));
  const f = x - i;
  return anchors[i].map((c, k) => Math.round(c + (anchors[i + 1][k] - c) * f));
}

const state = window.dosnaViewer = { refs, pool: null, path: null, meta: null, axes: [0, 1], index: [], colormap: "viridis", limits: null, auto: true, view: null, pending: 0, rendered: 0, last: null };

async function loadTree() {
  const pools = await getJson("/api/pools");
  const list = document.getElementById("pools");
  list.innerHTML = "";
  for (const pool of pools) {
    const item = await treeItem(pool, "", pool, "group");
    const repo = await getJson("/api/repo/" + encodeURIComponent(pool));
    if (repo.repository) {
      const picker = document.createElement("select");
      picker.id = "ref-" + pool;
      for (const b of repo.branches) picker.add(new Option("branch " + b, b, false, b === (refs[pool] || repo.defaultRef)));
      for (const t of repo.tags) picker.add(new Option("tag " + t, t, false, t === refs[pool]));
      picker.onchange = async () => { refs[pool] = picker.value; await loadTree(); if (state.pool === pool) await select(pool, "").catch((e) => status(String(e.message || e))); };
      item.insertBefore(picker, item.children[1] || null);
    }
    list.appendChild(item);
  }
}

async function treeItem(pool, path, label, kind) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = (kind === "group" ? "▸ " : "▪ ") + label;
  span.dataset.path = pool + "/" + path;
  span.dataset.kind = kind;
  li.appendChild(span);
  let opened = false;
  span.onclick = async () => {
    document.querySelectorAll("#tree span.selected").forEach((s) => s.classList.remove("selected"));
    span.classList.add("selected");
    await select(pool, path);
    if (kind === "group" && !opened) {
      opened = true;
      const meta = await getJson(withRef(pool, "/api/meta/" + enc(pool + "/" + path)));
      const ul = document.createElement("ul");
      for (const child of meta.children) ul.appendChild(await treeItem(pool, path ? path + "/" + child.name : child.name, child.name, child.kind));
      li.appendChild(ul);
    }
  };
  return li;
}

async function select(pool, path) {
  status("");
  const meta = await getJson(withRef(pool, "/api/meta/" + enc(pool + "/" + path) + "?stored=1"));
  Object.assign(state, { pool, path, meta, limits: null, auto: true, view: null });
  document.getElementById("title").innerHTML = "<b>" + pool + ":/" + path + "</b> (" + meta.kind + ")";
  const shown = meta.kind === "dataset"
    ? { shape: meta.shape, dtype: meta.dtype, chunks: meta.chunks, shards: meta.shards, fillValue: meta.fillValue, codecs: meta.codecs, bytes: meta.nbytes, stored: meta.stored ? meta.stored.chunks + " of " + meta.stored.of + " chunks" + (meta.stored.bytes !== undefined ? ", " + meta.stored.bytes + " bytes" : "") : undefined, attrs: meta.attrs }
    : { attrs: meta.attrs, children: meta.children.length };
  // One line per field: arrays of numbers stay on one line.
  document.getElementById("meta").textContent = JSON.stringify(shown, null, 1).replace(/\[\s*((?:-?[\d.e+]+|null|"[^"]*")(?:,\s*(?:-?[\d.e+]+|null|"[^"]*"))*)\s*\]/g, (m, inner) => "[" + inner.split(/,\s*/).join(", ") + "]");
  for (const id of ["heatmap", "colorbar", "line", "histogram", "nearest", "lineage", "log"]) document.getElementById(id).hidden = true;
  document.getElementById("controls").innerHTML = "";
  if (meta.kind === "group" && path === "") await showLog(pool);
  if (meta.kind !== "dataset" || meta.shape.length === 0) return;
  await showLineage(pool, path);
  if (meta.shape.length === 2 && (meta.dtype === "float32" || meta.dtype === "float64")) document.getElementById("nearest").hidden = false;
  state.axes = meta.shape.length >= 2 ? [meta.shape.length - 2, meta.shape.length - 1] : [0];
  state.index = meta.shape.map((n) => Math.floor(n / 2));
  buildControls();
  await draw();
}

function buildControls() {
  const meta = state.meta;
  const box = document.getElementById("controls");
  box.innerHTML = "";
  const n = meta.shape.length;
  if (n >= 2) {
    for (const [k, label] of [[0, "rows"], [1, "columns"]]) {
      const sel = document.createElement("select");
      sel.id = "axis-" + label;
      for (let a = 0; a < n; a++) sel.add(new Option("axis " + a + " (" + meta.shape[a] + ")", String(a), false, a === state.axes[k]));
      sel.onchange = () => {
        const other = state.axes[1 - k];
        const chosen = Number(sel.value);
        state.axes[k] = chosen;
        if (chosen === other) state.axes[1 - k] = [...Array(n).keys()].find((a) => a !== chosen);
        state.view = null; state.limits = null; state.auto = true;
        buildControls(); draw();
      };
      const l = document.createElement("label"); l.append(label + " ", sel); box.appendChild(l);
    }
  }
  for (let a = 0; a < n; a++) {
    if (n >= 2 && state.axes.includes(a)) continue;
    if (n === 1) continue;
    const slider = document.createElement("input");
    slider.type = "range"; slider.min = "0"; slider.max = String(meta.shape[a] - 1); slider.value = String(state.index[a]);
    slider.id = "slider-" + a;
    const value = document.createElement("span"); value.textContent = slider.value;
    slider.oninput = () => { state.index[a] = Number(slider.value); value.textContent = slider.value; draw(); };
    const l = document.createElement("label"); l.append("axis " + a + " ", slider, value); box.appendChild(l);
  }
  if (n >= 2) {
    const map = document.createElement("select"); map.id = "colormap";
    for (const name of Object.keys(MAPS)) map.add(new Option(name, name, false, name === state.colormap));
    map.onchange = () => { state.colormap = map.value; render(); };
    const l = document.createElement("label"); l.append("colormap ", map); box.appendChild(l);
    for (const [k, label] of [[0, "min"], [1, "max"]]) {
      const input = document.createElement("input"); input.type = "number"; input.step = "any"; input.id = "limit-" + label;
      input.onchange = () => { const v = Number(input.value); if (Number.isFinite(v)) { state.auto = false; state.limits = state.limits || [0, 1]; state.limits[k] = v; render(); } };
      const l2 = document.createElement("label"); l2.append(label + " ", input); box.appendChild(l2);
    }
    const auto = document.createElement("button"); auto.id = "auto"; auto.textContent = "auto"; auto.onclick = () => { state.auto = true; render(); };
    box.appendChild(auto);
    const reset = document.createElement("button"); reset.textContent = "reset zoom"; reset.onclick = () => { state.view = null; draw(); };
    box.appendChild(reset);
  }
}

/** The window in view ([r0, r1), [c0, c1)) and the stride that fits it into the canvas. */
function viewWindow() {
  const [ra, ca] = state.axes;
  const rows = state.meta.shape[ra], cols = state.meta.shape[ca];
  const v = state.view || { r0: 0, r1: rows, c0: 0, c1: cols };
  const canvas = document.getElementById("heatmap");
  const step = Math.max(1, Math.ceil(Math.max((v.r1 - v.r0) / canvas.height, (v.c1 - v.c0) / canvas.width)));
  return { ...v, step };
}

function selectionText(win) {
  const n = state.meta.shape.length;
  const parts = [];
  for (let a = 0; a < n; a++) {
    if (a === state.axes[0]) parts.push(win.r0 + ":" + win.r1 + ":" + win.step);
    else if (a === state.axes[1]) parts.push(win.c0 + ":" + win.c1 + ":" + win.step);
    else parts.push(String(state.index[a]));
  }
  return parts.join(",");
}

async function draw() {
  const meta = state.meta;
  const ticket = ++state.pending;
  try {
    if (meta.shape.length === 1) {
      const step = Math.max(1, Math.ceil(meta.shape[0] / 2048));
      const got = await getNpy(withRef(state.pool, "/api/data/" + enc(state.pool + "/" + state.path) + "?sel=" + encodeURIComponent("::" + step)));
      if (ticket !== state.pending) return;
      state.last = { values: got.data, shape: got.shape, sel: "::" + step };
      linePlot(got.data);
      histogram(got.data);
      state.rendered++;
      return;
    }
    const win = viewWindow();
    const sel = selectionText(win);
    const got = await getNpy(withRef(state.pool, "/api/data/" + enc(state.pool + "/" + state.path) + "?sel=" + encodeURIComponent(sel)));
    if (ticket !== state.pending) return;
    // A transposed pair of axes (rows after columns in the array) comes back columns-first.
    const transposed = state.axes[0] > state.axes[1];
    state.last = { values: got.data, shape: transposed ? [got.shape[1], got.shape[0]] : got.shape, transposed, sel, win };
    render();
  } catch (error) {
    if (ticket === state.pending) status(String(error.message || error));
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))];
}

function render() {
  const last = state.last;
  if (!last || !last.win) return;
  const [h, w] = last.shape;
  const at = (i, j) => (last.transposed ? last.values[j * h + i] : last.values[i * w + j]);
  const finite = [];
  let fills = 0, nans = 0;
  const fill = state.meta.fillValue === "NaN" ? NaN : Number(state.meta.fillValue);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const v = Number(at(i, j));
    if (Number.isNaN(v)) nans++; else finite.push(v);
    if (v === fill) fills++;
  }
  finite.sort((a, b) => a - b);
  if (state.auto || !state.limits) {
    state.limits = [percentile(finite, 0.02), percentile(finite, 0.98)];
    document.getElementById("limit-min").value = String(state.limits[0]);
    document.getElementById("limit-max").value = String(state.limits[1]);
  }
  const [lo, hi] = state.limits;
  const canvas = document.getElementById("heatmap");
  canvas.hidden = false;
  const scale = Math.max(1, Math.floor(Math.min(canvas.width / w, canvas.height / h)));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  const image = ctx.createImageData(w * scale, h * scale);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const v = Number(at(i, j));
    const c = Number.isNaN(v) ? NAN_COLOUR : colour(state.colormap, hi > lo ? (v - lo) / (hi - lo) : 0.5);
    for (let di = 0; di < scale; di++) for (let dj = 0; dj < scale; dj++) {
      const o = ((i * scale + di) * w * scale + j * scale + dj) * 4;
      image.data[o] = c[0]; image.data[o + 1] = c[1]; image.data[o + 2] = c[2]; image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  state.cell = scale;
  const bar = document.getElementById("colorbar");
  bar.hidden = false;
  const bctx = bar.getContext("2d");
  for (let y = 0; y < bar.height; y++) { const c = colour(state.colormap, 1 - y / (bar.height - 1)); bctx.fillStyle = "rgb(" + c + ")"; bctx.fillRect(0, y, bar.width, 1); }
  document.getElementById("scale").textContent = "max " + hi.toPrecision(4) + "\n … \nmin " + lo.toPrecision(4) + (nans ? "; NaN (magenta): " + nans : "") + (fills ? "; fill value: " + fills : "") + "; view " + last.sel;
  histogram(finite);
  state.rendered++;
}

function linePlot(values) {
  const canvas = document.getElementById("line");
  canvas.hidden = false;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const finite = Array.from(values, Number).filter(Number.isFinite);
  const lo = Math.min(...finite), hi = Math.max(...finite);
  ctx.strokeStyle = "#1f77b4"; ctx.beginPath();
  Array.from(values, Number).forEach((v, i) => {
    const x = (i / Math.max(1, values.length - 1)) * (canvas.width - 1);
    const y = canvas.height - 1 - (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (canvas.height - 1);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function histogram(values) {
  const canvas = document.getElementById("histogram");
  canvas.hidden = false;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const finite = Array.from(values, Number).filter(Number.isFinite);
  if (finite.length === 0) return;
  let lo = Infinity, hi = -Infinity;
  for (const v of finite) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const bins = new Array(64).fill(0);
  for (const v of finite) bins[hi > lo ? Math.min(63, Math.floor(((v - lo) / (hi - lo)) * 64)) : 0]++;
  const top = Math.max(...bins);
  ctx.fillStyle = "#555";
  bins.forEach((b, i) => { const bh = (b / top) * (canvas.height - 1); ctx.fillRect(i * 4, canvas.height - bh, 3, bh); });
}

// Zoom (wheel) and pan (drag) on the heatmap; shift-click plots the row under the pointer.
const heat = document.getElementById("heatmap");
heat.addEventListener("wheel", (event) => {
  event.preventDefault();
  const win = viewWindow();
  const [ra, ca] = state.axes;
  const rows = state.meta.shape[ra], cols = state.meta.shape[ca];
  const factor = event.deltaY < 0 ? 0.5 : 2;
  const cr = win.r0 + (event.offsetY / (state.cell || 1)) * win.step, cc = win.c0 + (event.offsetX / (state.cell || 1)) * win.step;
  const hr = Math.max(2, Math.round(((win.r1 - win.r0) * factor) / 2)), hc = Math.max(2, Math.round(((win.c1 - win.c0) * factor) / 2));
  const r0 = Math.max(0, Math.round(cr - hr)), c0 = Math.max(0, Math.round(cc - hc));
  state.view = { r0, r1: Math.min(rows, r0 + 2 * hr), c0, c1: Math.min(cols, c0 + 2 * hc) };
  draw();
}, { passive: false });
let dragging = null;
heat.addEventListener("mousedown", (event) => {
  if (event.shiftKey) {
    const last = state.last; if (!last || !last.win) return;
    const i = Math.min(last.shape[0] - 1, Math.floor(event.offsetY / (state.cell || 1)));
    const row = []; for (let j = 0; j < last.shape[1]; j++) row.push(last.transposed ? last.values[j * last.shape[0] + i] : last.values[i * last.shape[1] + j]);
    linePlot(row);
    return;
  }
  dragging = { x: event.clientX, y: event.clientY, win: viewWindow() };
});
window.addEventListener("mouseup", (event) => {
  if (!dragging) return;
  const { win } = dragging;
  const dr = Math.round(((dragging.y - event.clientY) / (state.cell || 1)) * win.step), dc = Math.round(((dragging.x - event.clientX) / (state.cell || 1)) * win.step);
  dragging = null;
  if (dr === 0 && dc === 0) return;
  const [ra, ca] = state.axes;
  const rows = state.meta.shape[ra], cols = state.meta.shape[ca];
  const hr = win.r1 - win.r0, hc = win.c1 - win.c0;
  const r0 = Math.min(Math.max(0, win.r0 + dr), rows - hr), c0 = Math.min(Math.max(0, win.c0 + dc), cols - hc);
  state.view = { r0, r1: r0 + hr, c0, c1: c0 + hc };
  draw();
});

async function showLog(pool) {
  const repo = await getJson(withRef(pool, "/api/repo/" + encodeURIComponent(pool)));
  if (!repo.repository) return;
  const list = document.getElementById("log-list");
  list.innerHTML = "";
  for (const entry of repo.log) {
    const li = document.createElement("li");
    li.textContent = entry.time.slice(0, 19).replace("T", " ") + "  " + entry.id.slice(0, 12) + "  " + entry.message;
    list.appendChild(li);
  }
  document.getElementById("log").hidden = false;
}

/** The provenance graph as boxes in columns by distance from the dataset's record, edges as lines. */
async function showLineage(pool, path) {
  const graph = await getJson(withRef(pool, "/api/lineage/" + enc(pool + "/" + path)));
  if (!graph.root) return;
  const depth = { [graph.root]: 0 };
  let changed = true;
  while (changed) {
    changed = false;
    for (const e of graph.edges) if (depth[e.to] !== undefined && (depth[e.from] === undefined || depth[e.from] < depth[e.to] + 1)) { depth[e.from] = depth[e.to] + 1; changed = true; }
  }
  const columns = {};
  for (const [id, d] of Object.entries(depth)) (columns[d] = columns[d] || []).push(id);
  const svg = document.getElementById("lineage-graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.innerHTML = "";
  const place = {};
  const maxDepth = Math.max(...Object.values(depth));
  let height = 0;
  for (const [d, ids] of Object.entries(columns)) ids.forEach((id, i) => { place[id] = { x: (maxDepth - Number(d)) * 170 + 5, y: i * 40 + 5 }; height = Math.max(height, i * 40 + 40); });
  svg.setAttribute("height", String(height + 10));
  for (const e of graph.edges) {
    if (!place[e.from] || !place[e.to]) continue;
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", place[e.from].x + 150); line.setAttribute("y1", place[e.from].y + 14);
    line.setAttribute("x2", place[e.to].x); line.setAttribute("y2", place[e.to].y + 14);
    line.setAttribute("stroke", "#888");
    svg.appendChild(line);
  }
  for (const [id, p] of Object.entries(place)) {
    const r = graph.records[id];
    const g = document.createElementNS(ns, "g");
    g.setAttribute("class", "lineage-node");
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", p.x); rect.setAttribute("y", p.y); rect.setAttribute("width", "150"); rect.setAttribute("height", "28"); rect.setAttribute("rx", "4");
    rect.setAttribute("fill", id === graph.root ? "#cde" : "#f2f2f2"); rect.setAttribute("stroke", r && r.stale ? "#c00" : "#999");
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", p.x + 5); text.setAttribute("y", p.y + 18); text.setAttribute("font-size", "11");
    const op = r && r.activity && r.activity.operation ? " (" + r.activity.operation + (r.activity.function ? " " + r.activity.function : "") + ")" : "";
    text.textContent = (r ? r.name : id) + op;
    g.append(rect, text);
    svg.appendChild(g);
  }
  document.getElementById("lineage").hidden = false;
}

document.getElementById("nearest-go").onclick = async () => {
  const out = document.getElementById("nearest-out");
  try {
    const q = "?row=" + document.getElementById("nearest-row").value + "&k=" + document.getElementById("nearest-k").value + "&metric=" + document.getElementById("nearest-metric").value;
    const found = await getJson(withRef(state.pool, "/api/nearest/" + enc(state.pool + "/" + state.path) + q));
    out.textContent = found.method + "\n" + found.indices.map((i, n) => "row " + i + "  distance " + found.distances[n]).join("\n");
  } catch (error) {
    out.textContent = String(error.message || error);
  }
};

loadTree().catch((error) => status(String(error.message || error)));
</script>
</body>
</html>
`;

export const VIEWER_PAGE = PAGE.replace("__COLORMAPS__", JSON.stringify(COLORMAPS)).replace("__NAN_COLOUR__", JSON.stringify(NAN_COLOUR));
