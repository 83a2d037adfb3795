// The run page's Media tab: one panel per media key with a step slider. Images get
// their masks and boxes drawn over them (each layer toggled), audio and video play in
// the browser's players, HTML runs in a sandboxed iframe (scripts, but an opaque
// origin: it cannot reach this page), histograms become a heat strip over steps.
// The step of each panel lives in the URL (?m.<key>=<step>).
import { get, runPath, enc } from "./api.js";
import { h, clear } from "./dom.js";
import { param, setParams } from "./state.js";
import { s } from "./svg.js";
import { PALETTE } from "./colors.js";

export const MEDIA_TYPES = new Set(["image-file", "images/separated", "audio-file", "video-file", "html-file",
  "histogram", "object3D-file", "plotly-file"]);

/** The URL of a run file, typed by extension and sandboxed by the server's CSP. */
export function mediaUrl(entity, project, id, path) {
  return `/api/v1${runPath(entity, project, id)}/media/${path.split("/").map(enc).join("/")}`;
}

/** Keys whose last value is a media record of one of `types`. */
export function mediaKeys(summary, types) {
  return Object.entries(summary || {}).filter(([k, v]) => !k.startsWith("_") && v && typeof v === "object"
    && types.has(v._type)).map(([k]) => k).sort();
}

function classColor(id) {
  return PALETTE[Math.abs(Number(id)) % PALETTE.length];
}

/** An image with its mask and box layers, each with a checkbox that hides it. */
export function imageView(rec, url, { layers = true, maxWidth = 360 } = {}) {
  const w = rec.width || 1, hgt = rec.height || 1;
  const zoom = Math.max(1, Math.floor(maxWidth / w));
  const width = Math.min(maxWidth, w * zoom);
  const height = Math.round((hgt * width) / w);
  const img = h("img", { src: url(rec.path), alt: rec.caption || "", width, height, class: "media-img" });
  const stack = h("div", { class: "media-stack", style: { width: `${width}px`, height: `${height}px` } }, img);
  const toggles = h("div", { class: "toolbar layers" });
  if (layers) {
    for (const [name, mask] of Object.entries(rec.masks || {})) {
      const canvas = h("canvas", { class: "overlay mask", width: w, height: hgt, dataset: { layer: `mask:${name}` },
        style: { width: `${width}px`, height: `${height}px` } });
      drawMask(canvas, url(mask.path));
      stack.append(canvas);
      toggles.append(toggle(`mask: ${name}`, canvas, mask.class_labels));
    }
    for (const [name, group] of Object.entries(rec.boxes || {})) {
      const layer = boxLayer(group, width, height, w, hgt);
      layer.dataset.layer = `boxes:${name}`;
      stack.append(layer);
      toggles.append(toggle(`boxes: ${name}`, layer, group.class_labels));
    }
  }
  return h("figure", { class: "media-figure" }, stack, toggles.childNodes.length ? toggles : "",
    rec.caption ? h("figcaption", {}, rec.caption) : "");
}

function toggle(label, layer, classLabels) {
  const box = h("input", { type: "checkbox", checked: true, onchange: () => { layer.style.display = box.checked ? "" : "none"; } });
  const legend = Object.entries(classLabels || {}).map(([cid, name]) =>
    h("span", { class: "tag" }, h("span", { class: "swatch", style: { background: classColor(cid) } }), name));
  return h("label", { class: "layer-toggle" }, box, label, " ", legend);
}

/** A mask PNG holds a class id per pixel: paint each non-zero class in its colour, half transparent. */
function drawMask(canvas, src) {
  const img = new Image();
  img.onload = () => {
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      const cls = px[i];
      if (!cls) { px[i + 3] = 0; continue; }
      const n = parseInt(classColor(cls).slice(1), 16);
      px[i] = n >> 16; px[i + 1] = (n >> 8) & 255; px[i + 2] = n & 255; px[i + 3] = 120;
    }
    ctx.putImageData(data, 0, 0);
    canvas.dataset.drawn = "1";
  };
  img.src = src;
}

function boxLayer(group, width, height, w, hgt) {
  const svg = s("svg", { class: "overlay boxes", width, height, viewBox: `0 0 ${width} ${height}` });
  for (const box of group.box_data || []) {
    const p = box.position || {};
    const pixels = box.domain === "pixel";
    const sx = pixels ? width / w : width, sy = pixels ? height / hgt : height;
    let x0, x1, y0, y1;
    if ("minX" in p) { x0 = p.minX; x1 = p.maxX; y0 = p.minY; y1 = p.maxY; }
    else { x0 = p.middle[0] - p.width / 2; x1 = p.middle[0] + p.width / 2; y0 = p.middle[1] - p.height / 2; y1 = p.middle[1] + p.height / 2; }
    const color = classColor(box.class_id ?? 0);
    const label = box.box_caption ?? group.class_labels?.[box.class_id] ?? "";
    svg.append(s("rect", { x: x0 * sx, y: y0 * sy, width: (x1 - x0) * sx, height: (y1 - y0) * sy, fill: "none", stroke: color, "stroke-width": 2 }),
      label ? s("text", { x: x0 * sx + 2, y: y0 * sy + 11, fill: color, "font-size": 11 }, label) : null);
  }
  return svg;
}

function recordView(rec, url) {
  switch (rec._type) {
    case "image-file": return imageView(rec, url);
    case "images/separated": return h("div", { class: "media-row" }, (rec.items || []).map((r) => imageView(r, url, { maxWidth: 160 })));
    case "audio-file": return h("div", {}, h("audio", { controls: true, preload: "none", src: url(rec.path) }), rec.caption ? h("p", {}, rec.caption) : "");
    case "video-file": return h("div", {}, h("video", { controls: true, preload: "metadata", width: 360, src: url(rec.path) }), rec.caption ? h("p", {}, rec.caption) : "");
    // sandbox without allow-same-origin: the page's scripts run in an opaque origin.
    case "html-file": return h("iframe", { class: "media-html", sandbox: "allow-scripts", src: url(rec.path), title: "logged HTML", referrerpolicy: "no-referrer" });
    default: return h("p", {}, h("a", { href: url(rec.path), download: rec.path.split("/").pop() }, `Download ${rec._type} (${rec.path.split("/").pop()})`));
  }
}

/** Counts per step resampled onto one value grid: a heat strip (x step, y value). */
export function histogramStrip(steps, records, { width = 420, height = 180, rows = 48 } = {}) {
  let lo = Infinity, hi = -Infinity;
  for (const r of records) { lo = Math.min(lo, r.bins[0]); hi = Math.max(hi, r.bins[r.bins.length - 1]); }
  const canvas = h("canvas", { width: records.length, height: rows, class: "heat", style: { width: `${width}px`, height: `${height}px` } });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(records.length, rows);
  records.forEach((r, col) => {
    const grid = new Float64Array(rows);
    r.values.forEach((count, i) => {
      const mid = (r.bins[i] + r.bins[i + 1]) / 2;
      const row = hi > lo ? Math.min(rows - 1, Math.floor(((mid - lo) / (hi - lo)) * rows)) : 0;
      grid[row] += count;
    });
    const top = Math.max(...grid) || 1;
    for (let row = 0; row < rows; row++) {
      const a = grid[row] / top;
      const at = ((rows - 1 - row) * records.length + col) * 4;
      img.data[at] = 47; img.data[at + 1] = 111; img.data[at + 2] = 222; img.data[at + 3] = Math.round(a * 255);
    }
  });
  ctx.putImageData(img, 0, 0);
  return h("div", {}, canvas, h("p", { class: "muted" }, `steps ${steps[0]}–${steps[steps.length - 1]}, values ${lo.toPrecision(3)}–${hi.toPrecision(3)} (darker: more)`));
}

export async function mediaTab(body, entity, project, id, run) {
  const keys = mediaKeys(run.summary, MEDIA_TYPES);
  if (!keys.length) { clear(body).append(h("p", { class: "muted" }, "This run logged no media.")); return; }
  const hist = await get(`${runPath(entity, project, id)}/history?keys=${keys.map(enc).join(",")}`);
  const url = (path) => mediaUrl(entity, project, id, path);
  const grid = h("div", { class: "grid", id: "media" });
  for (const key of keys) {
    const points = hist.rows.filter((r) => r[key] && typeof r[key] === "object" && MEDIA_TYPES.has(r[key]._type));
    if (!points.length) continue;
    const panel = h("div", { class: "panel media-panel", dataset: { key } }, h("h3", {}, key));
    grid.append(panel);
    if (points[0][key]._type === "histogram") {
      panel.append(histogramStrip(points.map((r) => r._step), points.map((r) => r[key])));
      continue;
    }
    const want = parseInt(param(`m.${key}`, ""), 10);
    let at = points.findIndex((r) => r._step === want);
    if (at < 0) at = points.length - 1;
    const view = h("div", { class: "media-view" });
    const label = h("span", { class: "step-label" });
    const show = () => {
      label.textContent = `step ${points[at]._step}`;
      clear(view).append(recordView(points[at][key], url));
    };
    const slider = h("input", { type: "range", class: "step-slider", min: 0, max: points.length - 1, value: at,
      "aria-label": `${key} step`, disabled: points.length < 2, oninput: () => {
        at = Number(slider.value); show(); setParams({ [`m.${key}`]: points[at]._step });
      } });
    panel.append(h("div", { class: "toolbar" }, slider, label), view);
    show();
  }
  clear(body).append(grid);
}
