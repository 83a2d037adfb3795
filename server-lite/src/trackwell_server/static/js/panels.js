// The panel grid: one line chart per metric, in sections by prefix (train/, val/,
// system/, ...), every shown run overlaid, or one mean line with a min/max band per
// group when grouping. `update` redraws with new data (live polling).
import { h, clear } from "./dom.js";
import { lineChart } from "./chart.js";
import { setParams } from "./state.js";

const SECTION_ORDER = ["train", "val", "eval", "test", "system"];

export function sectionOf(key) {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "Charts";
}

function sortSections(names) {
  const rank = (n) => (SECTION_ORDER.includes(n) ? SECTION_ORDER.indexOf(n) : n === "Charts" ? -1 : 100);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Mean and min/max across runs, on a shared x grid (each run interpolated within its own range). */
export function aggregate(lines, maxPoints = 500) {
  const all = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(all.length / maxPoints));
  const grid = all.filter((_, i) => i % step === 0 || i === all.length - 1);
  const x = [], y = [], min = [], max = [];
  for (const gx of grid) {
    const vals = [];
    for (const l of lines) {
      const n = l.x.length;
      if (!n || gx < l.x[0] || gx > l.x[n - 1]) continue;
      let lo = 0, hi = n - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (l.x[mid] <= gx) lo = mid; else hi = mid - 1; }
      if (l.x[lo] === gx || lo === n - 1) vals.push(l.y[lo]);
      else {
        const t = (gx - l.x[lo]) / (l.x[lo + 1] - l.x[lo]);
        vals.push(l.y[lo] + t * (l.y[lo + 1] - l.y[lo]));
      }
    }
    if (!vals.length) continue;
    x.push(gx);
    y.push(vals.reduce((a, b) => a + b, 0) / vals.length);
    min.push(Math.min(...vals));
    max.push(Math.max(...vals));
  }
  return { x, y, min: lines.length > 1 ? min : null, max: lines.length > 1 ? max : null };
}

/**
 * runs: [{id, label, color, series: {key: {x, y, min, max}}}]; groups: null or
 * [{label, color, ids: [run id]}]. Returns {update(runs, settings, groups)}.
 */
export function panelGrid(container, runs, settings, groups = null) {
  const charts = new Map();
  const sections = new Map();
  clear(container);

  function linesFor(key, rs, gs) {
    const lines = rs.filter((r) => r.series[key]).map((r) => ({ id: r.id, label: r.label, color: r.color, ...r.series[key] }));
    if (!gs) return lines;
    return gs.map((g) => {
      const members = lines.filter((l) => g.ids.includes(l.id));
      return members.length ? { id: g.label, label: `${g.label} (${members.length})`, color: g.color, ...aggregate(members) } : null;
    }).filter(Boolean);
  }

  function render(rs, st, gs) {
    const keys = [...new Set(rs.flatMap((r) => Object.keys(r.series)))].sort();
    if (!keys.length) {
      if (!container.firstChild) container.append(h("p", { class: "muted" }, "No metrics logged yet."));
      return;
    }
    if (container.firstChild && !container.firstChild.matches("details")) clear(container);
    const bySection = new Map();
    for (const k of keys) {
      const s = sectionOf(k);
      if (!bySection.has(s)) bySection.set(s, []);
      bySection.get(s).push(k);
    }
    for (const name of sortSections([...bySection.keys()])) {
      if (!sections.has(name)) {
        const grid = h("div", { class: "grid" });
        const det = h("details", { class: "section", open: true, dataset: { section: name } },
          h("summary", {}, name), grid);
        container.append(det);
        sections.set(name, grid);
      }
      for (const k of bySection.get(name)) {
        const lines = linesFor(k, rs, gs);
        if (charts.has(k)) charts.get(k).update(lines, st);
        else {
          const panel = h("div", { class: "panel", dataset: { metric: k } });
          sections.get(name).append(panel);
          charts.set(k, lineChart(panel, k, lines, st));
        }
      }
    }
  }

  render(runs, settings, groups);
  return { update: render };
}

/** Smoothing, x-axis and log-scale controls; state kept in the URL. */
export function chartControls(settings, xOptions, onChange) {
  const smooth = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: String(settings.smoothing),
    "aria-label": "smoothing" });
  const smoothVal = h("span", { class: "muted" }, settings.smoothing.toFixed(2));
  const xSel = h("select", { "aria-label": "x axis", name: "x-axis" },
    ...[["_step", "Step"], ["_runtime", "Relative time"], ["_timestamp", "Wall time"], ...xOptions.map((k) => [k, k])]
      .map(([v, label]) => h("option", { value: v, selected: v === settings.x }, label)));
  const log = h("input", { type: "checkbox", checked: settings.log, "aria-label": "log scale" });
  const changed = () => {
    const next = { smoothing: parseFloat(smooth.value) || 0, x: xSel.value, log: log.checked };
    smoothVal.textContent = next.smoothing.toFixed(2);
    setParams({ smooth: next.smoothing ? next.smoothing : "", x: next.x === "_step" ? "" : next.x, log: next.log });
    onChange(next);
  };
  smooth.addEventListener("change", changed);
  smooth.addEventListener("input", () => { smoothVal.textContent = parseFloat(smooth.value).toFixed(2); });
  xSel.addEventListener("change", changed);
  log.addEventListener("change", changed);
  return h("div", { class: "toolbar chart-controls" },
    h("label", {}, "Smoothing ", smooth, smoothVal), h("label", {}, "X axis ", xSel), h("label", {}, log, " Log scale"));
}
