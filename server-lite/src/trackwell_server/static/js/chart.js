// Line charts on uPlot: several runs overlaid, EMA smoothing as W&B documents it,
// the server's min/max band where it merged points, log scale, x-axis choice, a
// hover readout and drag-to-zoom (double-click resets).
import uPlot from "../vendor/uPlot.esm.js";
import { alpha } from "./colors.js";
import { h, clear, fmt, fmtDuration, fmtTicks, fmtDurationTicks } from "./dom.js";

const VIEWPORT_SCALE = 1000;

/** W&B's time-weighted EMA with de-bias: consistent across lines of different density. */
export function ema(xs, ys, param) {
  const weight = Math.min(Math.sqrt(param || 0), 0.999);
  if (!weight || ys.length < 2) return ys.slice();
  const range = (xs[xs.length - 1] - xs[0]) || 1;
  let last = 0;
  let debias = 0;
  return ys.map((y, i) => {
    const dx = ((xs[i] - xs[i > 0 ? i - 1 : 0]) / range) * VIEWPORT_SCALE;
    const w = Math.pow(weight, dx);
    last = last * w + y;
    debias = debias * w + 1;
    return last / debias;
  });
}

/** Tick labels of the x axis (the readout's x uses xFormatter: one value, full precision). */
function xTicks(xKey) {
  if (xKey === "_runtime") return (u, ticks) => fmtDurationTicks(ticks);
  return (u, ticks) => fmtTicks(ticks);
}

/** The y axis as wide as its widest label (measured in the axis's own font), so none is clipped. */
function yAxisSize(u, values, axisIdx) {
  const axis = u.axes[axisIdx];
  if (!values || !values.length) return 40;
  u.ctx.save();
  u.ctx.font = axis.font[0];
  const widest = Math.max(...values.map((v) => u.ctx.measureText(String(v)).width)) / uPlot.pxRatio;
  u.ctx.restore();
  return Math.max(40, Math.ceil(widest) + axis.ticks.size + axis.gap + 6);
}

/** Dots where a line has a single point: uPlot draws no line through one, so nothing would show. */
function sparse(ys) {
  return ys.filter((v) => v !== null && v !== undefined).length < 2;
}

function xFormatter(xKey) {
  if (xKey === "_timestamp") return (v) => new Date(v * 1000).toLocaleTimeString();
  if (xKey === "_runtime") return (v) => (v < 60 && !Number.isInteger(v) ? `${+v.toFixed(2)}s` : fmtDuration(v));
  return (v) => fmt(v);
}

/**
 * A chart in `container`. `lines`: [{id, label, color, x, y, min, max}] (min/max may be null).
 * settings: {smoothing, x, log}. Returns {update(lines, settings), destroy()}.
 */
export function lineChart(container, title, lines, settings) {
  const plotEl = h("div", { class: "plot" });
  const legend = h("div", { class: "legend muted" });
  clear(container).append(h("h3", {}, title), plotEl, legend);
  let plot = null;
  let current = { lines, settings };

  function build() {
    const { lines: ls, settings: st } = current;
    const tables = [];
    const series = [{ label: st.x }];
    const bands = [];
    let col = 1;
    for (const line of ls) {
      const ys = st.log ? line.y.map((v) => (v > 0 ? v : null)) : line.y;
      const smooth = st.smoothing > 0 ? ema(line.x, line.y, st.smoothing) : null;
      const t = [line.x, ys];
      series.push({ label: line.label, stroke: smooth ? alpha(line.color, 0.25) : line.color, width: 1.5,
        points: { show: sparse(ys), size: 7, fill: line.color } });
      col++;
      if (smooth) {
        t.push(st.log ? smooth.map((v) => (v > 0 ? v : null)) : smooth);
        series.push({ label: `${line.label} (smoothed)`, stroke: line.color, width: 1.5, points: { show: false } });
        col++;
      }
      if (line.min && line.max) {
        t.push(line.max, line.min);
        series.push({ label: "max", stroke: "transparent", width: 0, points: { show: false } },
          { label: "min", stroke: "transparent", width: 0, points: { show: false } });
        bands.push({ series: [col, col + 1], fill: alpha(line.color, 0.15) });
        col += 2;
      }
      tables.push(t);
    }
    const data = tables.length ? uPlot.join(tables) : [[]];
    const width = Math.max(240, plotEl.clientWidth || container.clientWidth - 12 || 360);
    const opts = {
      width, height: 190, series, bands, legend: { show: false },
      scales: { x: { time: st.x === "_timestamp" }, y: { distr: st.log ? 3 : 1 } },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.15)" }, values: st.x === "_timestamp" ? undefined
          : xTicks(st.x) },
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.15)" }, size: yAxisSize,
          values: (u, ticks) => fmtTicks(ticks) },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: { setCursor: [(u) => readout(u.cursor.idx)], draw: [ticksShown] },
    };
    if (plot) plot.destroy();
    plot = new uPlot(opts, data, plotEl);
    container.dataset.series = String(ls.length);
    container.dataset.last = JSON.stringify(Object.fromEntries(ls.map((l) => [l.label, l.y[l.y.length - 1] ?? null])));
    readout(null);
  }

  /** The tick labels as drawn (on the canvas, out of the DOM's reach) and the y axis's width, for a reader. */
  function ticksShown(u) {
    const shown = (i) => (u.axes[i]._values || []).filter((v) => v !== null && v !== "").map(String);
    Object.assign(container.dataset, { xTicks: JSON.stringify(shown(0)), yTicks: JSON.stringify(shown(1)),
      yAxisWidth: String(u.axes[1]._size) });
  }

  function readout(idx) {
    const { lines: ls, settings: st } = current;
    const rows = ls.map((line) => {
      let x = null, y = null;
      if (idx === null || idx === undefined) { x = line.x[line.x.length - 1]; y = line.y[line.y.length - 1]; }
      else {
        const at = plot.data[0][idx];
        // nearest logged point of this line at or before the cursor
        let lo = 0, hi = line.x.length - 1;
        while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (line.x[mid] <= at) lo = mid; else hi = mid - 1; }
        if (line.x.length && line.x[lo] <= at) { x = line.x[lo]; y = line.y[lo]; }
      }
      return h("span", { class: "legend-item" }, h("span", { class: "swatch", style: { background: line.color } }),
        `${line.label}: ${y === null ? "–" : fmt(y)}`, x === null ? "" : ` @ ${xFormatter(st.x)(x)}  `);
    });
    clear(legend).append(...rows);
  }

  build();
  const resize = new ResizeObserver(() => {
    const w = plotEl.clientWidth;
    if (plot && w && Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height: 190 });
  });
  resize.observe(plotEl);
  return {
    update(newLines, newSettings) {
      current = { lines: newLines, settings: newSettings };
      build();
    },
    destroy() { resize.disconnect(); if (plot) plot.destroy(); plot = null; },
  };
}
