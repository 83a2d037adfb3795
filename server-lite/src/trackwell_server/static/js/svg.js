// SVG nodes built like dom.js's h(): text only ever becomes text nodes.
import { fmt } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A linear scale [d0, d1] -> [r0, r1] (a constant domain maps to the middle). */
export function scale(d0, d1, r0, r1) {
  const span = d1 - d0;
  return (v) => (span ? r0 + ((v - d0) / span) * (r1 - r0) : (r0 + r1) / 2);
}

export function extent(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** Axes with a few ticks around a plot area; returns {svg, x, y, plot} to draw into. */
export function axes({ width = 420, height = 260, xDomain, yDomain, xLabel = "", yLabel = "", xBand = null }) {
  const m = { l: 48, r: 10, t: 8, b: 34 };
  const x = scale(xDomain[0], xDomain[1], m.l, width - m.r);
  const y = scale(yDomain[0], yDomain[1], height - m.b, m.t);
  const plot = s("g", { class: "plot" });
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const axis = s("g", { class: "axis", "font-size": 10, fill: "currentColor" });
  axis.append(s("line", { x1: m.l, x2: width - m.r, y1: height - m.b, y2: height - m.b, stroke: "currentColor", "stroke-opacity": 0.3 }));
  axis.append(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: height - m.b, stroke: "currentColor", "stroke-opacity": 0.3 }));
  for (let i = 0; i <= 4; i++) {
    const yv = yDomain[0] + ((yDomain[1] - yDomain[0]) * i) / 4;
    axis.append(s("text", { x: m.l - 4, y: y(yv) + 3, "text-anchor": "end" }, fmt(+yv.toPrecision(3))));
    if (!xBand) {
      const xv = xDomain[0] + ((xDomain[1] - xDomain[0]) * i) / 4;
      axis.append(s("text", { x: x(xv), y: height - m.b + 12, "text-anchor": "middle" }, fmt(+xv.toPrecision(3))));
    }
  }
  axis.append(s("text", { x: (m.l + width - m.r) / 2, y: height - 4, "text-anchor": "middle" }, xLabel));
  axis.append(s("text", { x: 10, y: (m.t + height - m.b) / 2, transform: `rotate(-90 10 ${(m.t + height - m.b) / 2})`, "text-anchor": "middle" }, yLabel));
  svg.append(axis, plot);
  return { svg, x, y, plot, m, width, height };
}
