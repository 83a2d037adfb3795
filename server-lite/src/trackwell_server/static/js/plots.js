// Custom charts (trackwell.plot / W&B's wandb.plot): a plot-table record is a table
// plus a chart spec naming one of the built-in Vega-Lite templates and which column
// plays which part. Each built-in is drawn here as plain SVG, no Vega runtime.
import { h, clear, fmt } from "./dom.js";
import { s, axes, extent } from "./svg.js";
import { PALETTE } from "./colors.js";
import { mediaKeys } from "./media.js";
import { tableRows } from "./tableview.js";

/** The most rows a chart reads (4 pages of 500). */
const MAX_ROWS = 2000;

async function allRows(entity, project, id, path) {
  const rows = [];
  let data;
  do {
    data = await tableRows(entity, project, id, path, { offset: rows.length, limit: 500 });
    rows.push(...data.rows);
  } while (rows.length < Math.min(data.total, MAX_ROWS) && data.rows.length);
  return { columns: data.columns, rows };
}

function col(table, name) {
  const i = table.columns.indexOf(name);
  return i < 0 ? table.rows.map(() => undefined) : table.rows.map((r) => r[i]);
}

function groups(keys) {
  const out = new Map();
  keys.forEach((k, i) => { const g = String(k ?? ""); if (!out.has(g)) out.set(g, []); out.get(g).push(i); });
  return out;
}

function legend(names) {
  return names.length > 1 || names[0] ? h("div", { class: "legend" }, names.map((n, i) =>
    h("span", { class: "tag" }, h("span", { class: "swatch", style: { background: PALETTE[i % PALETTE.length] } }), n))) : "";
}

function lines(xs, ys, keys, labels, { dots = false } = {}) {
  const ax = axes({ xDomain: extent(xs), yDomain: extent(ys), ...labels });
  const byKey = groups(keys);
  [...byKey.values()].forEach((idx, gi) => {
    const color = PALETTE[gi % PALETTE.length];
    const pts = idx.filter((i) => typeof xs[i] === "number" && typeof ys[i] === "number");
    if (!dots) pts.sort((a, b) => xs[a] - xs[b]);
    if (dots) pts.forEach((i) => ax.plot.append(s("circle", { cx: ax.x(xs[i]), cy: ax.y(ys[i]), r: 3, fill: color, "fill-opacity": 0.7 })));
    else ax.plot.append(s("polyline", { class: "series", fill: "none", stroke: color, "stroke-width": 1.5,
      points: pts.map((i) => `${ax.x(xs[i]).toFixed(1)},${ax.y(ys[i]).toFixed(1)}`).join(" ") }));
  });
  return h("div", {}, ax.svg, legend([...byKey.keys()]));
}

function bars(labels, values, axisLabels) {
  const [lo, hi] = extent([0, ...values]);
  const ax = axes({ xDomain: [0, 1], yDomain: [lo, hi], xBand: true, ...axisLabels });
  const band = (ax.width - ax.m.l - ax.m.r) / Math.max(1, labels.length);
  labels.forEach((label, i) => {
    const x0 = ax.m.l + i * band;
    const y0 = ax.y(Math.max(0, values[i])), y1 = ax.y(Math.min(0, values[i]));
    ax.plot.append(s("rect", { class: "bar", x: x0 + band * 0.1, y: y0, width: band * 0.8, height: Math.max(0, y1 - y0), fill: PALETTE[0] },
      s("title", {}, `${label}: ${fmt(values[i])}`)));
    if (labels.length <= 20) ax.plot.append(s("text", { x: x0 + band / 2, y: ax.height - ax.m.b + 12, "text-anchor": "middle", "font-size": 10, fill: "currentColor" }, String(label).slice(0, 12)));
  });
  return ax.svg;
}

function histogram(values, axisLabels) {
  const nums = values.filter((v) => typeof v === "number");
  const [lo, hi] = extent(nums);
  const n = Math.min(30, Math.max(5, Math.round(Math.sqrt(nums.length))));
  const counts = new Array(n).fill(0);
  for (const v of nums) counts[Math.min(n - 1, Math.floor(hi > lo ? ((v - lo) / (hi - lo)) * n : 0))] += 1;
  const edges = counts.map((_, i) => lo + ((hi - lo) * i) / n);
  return bars(edges.map((e) => fmt(+e.toPrecision(3))), counts, axisLabels);
}

/** A confusion matrix as a coloured grid: rows actual, columns predicted, darker = more. */
export function confusion(actual, predicted, counts) {
  const classes = [...new Set([...actual, ...predicted].map(String))];
  const cellPx = Math.max(18, Math.min(48, Math.floor(360 / Math.max(1, classes.length))));
  const left = 80, top = 20, size = cellPx * classes.length;
  const svg = s("svg", { width: left + size + 10, height: top + size + 60, class: "confusion", role: "img" });
  const max = Math.max(1, ...counts.map(Number).filter(Number.isFinite));
  const at = new Map(actual.map((a, i) => [`${a}\u0000${predicted[i]}`, Number(counts[i]) || 0]));
  classes.forEach((a, r) => {
    svg.append(s("text", { x: left - 4, y: top + r * cellPx + cellPx / 2 + 4, "text-anchor": "end", "font-size": 11, fill: "currentColor" }, a.slice(0, 12)));
    classes.forEach((p, c) => {
      const v = at.get(`${a}\u0000${p}`) || 0;
      svg.append(s("rect", { class: "cell", x: left + c * cellPx, y: top + r * cellPx, width: cellPx - 1, height: cellPx - 1,
        fill: PALETTE[0], "fill-opacity": 0.08 + 0.92 * (v / max) }, s("title", {}, `actual ${a}, predicted ${p}: ${v}`)));
      if (cellPx >= 24) svg.append(s("text", { x: left + c * cellPx + cellPx / 2, y: top + r * cellPx + cellPx / 2 + 4, "text-anchor": "middle", "font-size": 10, fill: v / max > 0.5 ? "#fff" : "currentColor" }, String(v)));
    });
  });
  classes.forEach((p, c) => svg.append(s("text", { x: left + c * cellPx + cellPx / 2, y: top + size + 14, "text-anchor": "middle", "font-size": 11, fill: "currentColor" }, p.slice(0, 8))));
  svg.append(s("text", { x: left + size / 2, y: top + size + 36, "text-anchor": "middle", "font-size": 11, fill: "currentColor" }, "Predicted"),
    s("text", { x: 12, y: top + size / 2, transform: `rotate(-90 12 ${top + size / 2})`, "text-anchor": "middle", "font-size": 11, fill: "currentColor" }, "Actual"));
  return svg;
}

/** One plot-table record drawn from its table's rows. */
export function drawPlot(rec, table) {
  const spec = rec.spec || {};
  const f = spec.fields || {};
  const strs = spec.string_fields || {};
  const name = String(spec.name || "").replace(/^wandb\//, "").replace(/\/v\d+$/, "");
  const lab = (x, y) => ({ xLabel: strs["x-axis-title"] || strs.xname || x || "", yLabel: strs["y-axis-title"] || y || "" });
  switch (name) {
    case "line": return lines(col(table, f.x), col(table, f.y), f.stroke ? col(table, f.stroke) : col(table, ""), lab(f.x, f.y));
    case "scatter": return lines(col(table, f.x), col(table, f.y), col(table, ""), lab(f.x, f.y), { dots: true });
    case "bar": return bars(col(table, f.label), col(table, f.value).map(Number), lab(f.label, f.value));
    case "histogram": return histogram(col(table, f.value), lab(f.value, "count"));
    case "lineseries": return lines(col(table, f.step), col(table, f.lineVal), col(table, f.lineKey), lab(f.step, ""));
    case "area-under-curve": return lines(col(table, f.x), col(table, f.y), col(table, f.class), lab(f.x, f.y));
    case "confusion_matrix": return confusion(col(table, f.Actual), col(table, f.Predicted), col(table, f.nPredictions));
    default: return h("p", { class: "muted" }, `No built-in drawing for the chart "${spec.name}"; its table is in the Tables tab.`);
  }
}

export async function plotsTab(body, entity, project, id, run) {
  const keys = mediaKeys(run.summary, new Set(["plot-table"]));
  if (!keys.length) { clear(body).append(h("p", { class: "muted" }, "This run logged no custom charts.")); return; }
  const grid = h("div", { class: "grid", id: "plots" });
  clear(body).append(grid);
  await Promise.all(keys.map(async (key) => {
    const rec = run.summary[key];
    const panel = h("div", { class: "panel plot-panel", dataset: { key, chart: rec.spec?.name || "" } },
      h("h3", {}, rec.title || rec.spec?.string_fields?.title || key, " ", h("small", { class: "muted" }, key)));
    grid.append(panel);
    const table = await allRows(entity, project, id, rec.table.path);
    panel.append(drawPlot(rec, table));
  }));
}

