// Building DOM nodes. User strings only ever become text nodes or attribute values:
// nothing here parses HTML, so a run named "<script>…" shows as text.

/** h("a", {href: "/x", class: "c", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style" && typeof value === "object") Object.assign(el.style, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A value as short readable text (config and summary cells). */
export function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return tickLabel(value, 6);
  }
  if (typeof value === "object") return fmtObject(value);
  return String(value);
}

/** `{"max": 1, "min": 0}` as "max: 1, min: 0", nested ones in braces: a summary cell, not JSON. */
function fmtObject(value) {
  const inner = (v) => (v === null || typeof v !== "object" ? fmt(v) : Array.isArray(v) ? fmtObject(v) : `{${fmtObject(v)}}`);
  if (Array.isArray(value)) return `[${value.map(inner).join(", ")}]`;
  return Object.entries(value).map(([k, v]) => `${k}: ${inner(v)}`).join(", ");
}

export function fmtTime(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  const parts = [[Math.floor(s / 3600), "h"], [Math.floor((s % 3600) / 60), "m"], [s % 60, "s"]];
  return parts.filter(([n], i) => n || i === 2).map(([n, u]) => `${n}${u}`).join(" ");
}

/** One number with `digits` significant digits: exponent form below 1e-3 and from 1e6 on. */
function tickLabel(value, digits) {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e6) {
    const [mantissa, exp] = value.toExponential(digits - 1).split("e");
    return `${+mantissa}e${+exp}`;
  }
  return String(+value.toPrecision(digits));
}

/**
 * Tick labels at the lowest precision (1, 2, … `most`) whose labels still say each tick's
 * value, to a millionth of the tick spacing: `label(value, precision)` writes one, and
 * `Number` of it (less a unit suffix) reads it back.
 */
function exactLabels(ticks, label, most) {
  const nums = ticks.filter((v) => typeof v === "number");
  const gaps = nums.slice(1).map((v, i) => Math.abs(v - nums[i])).filter((g) => g > 0);
  const tolerance = (gaps.length ? Math.min(...gaps) : Math.abs(nums[0] || 1)) * 1e-6;
  for (let p = 1; p <= most; p++) {
    if (nums.every((v) => Math.abs(parseFloat(label(v, p)) - v) <= tolerance)) {
      return ticks.map((v) => (typeof v === "number" ? label(v, p) : ""));
    }
  }
  return null;
}

/**
 * Axis ticks with as few significant digits as say their values: 1e-4, 1.5e-4, 2e-4 …
 * where a fixed precision would print the same text for every tick ("000e-4") or
 * round 1.5e-4 to 2e-4.
 */
export function fmtTicks(ticks) {
  return exactLabels(ticks, tickLabel, 15) || ticks.map((v) => fmt(v));
}

/** Relative-time ticks: "1m 30s" where whole seconds say them, else seconds with the decimals that do. */
export function fmtDurationTicks(ticks) {
  const whole = ticks.map((v) => fmtDuration(v));
  if (ticks.every((v) => typeof v !== "number" || Number.isInteger(v))) return whole;
  return exactLabels(ticks, (v, p) => `${+v.toFixed(p)}s`, 6) || whole;
}

/** A key/value table (sorted by key), shared by the run and artifact pages so neither page imports the other. */
export function kvTable(obj, id) {
  const entries = Object.entries(obj || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h("p", { class: "muted" }, "Nothing.");
  return h("table", { class: "kv", id }, h("tbody", {}, entries.map(([k, v]) =>
    h("tr", {}, h("td", {}, k), h("td", {}, fmt(v))))));
}
