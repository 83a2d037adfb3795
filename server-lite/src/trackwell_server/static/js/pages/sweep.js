// One sweep: state, configuration, parallel coordinates over its parameters and
// metric (one line per run, coloured by the metric), parameter importance (computed
// by the server: GET /projects/{e}/{p}/sweeps/{id}/importance), best runs, all runs.
import { get, enc } from "../api.js";
import { h, clear, fmt, fmtTime } from "../dom.js";
import { crumbs } from "../app.js";
import { s, scale, extent } from "../svg.js";

const runHref = (e, p, id) => `/${enc(e)}/${enc(p)}/runs/${enc(id)}`;

/** A value's position on an axis: numbers on a linear scale, anything else evenly spaced in order seen. */
function axisOf(name, values) {
  const nums = values.every((v) => v === undefined || v === null || typeof v === "number");
  if (nums) {
    const [lo, hi] = extent(values);
    return { name, pos: (v) => (typeof v === "number" ? (hi > lo ? (v - lo) / (hi - lo) : 0.5) : null), ticks: [[0, fmt(lo)], [1, fmt(hi)]] };
  }
  const levels = [...new Set(values.filter((v) => v !== undefined && v !== null).map((v) => fmt(v)))].sort();
  const at = (v) => (levels.length > 1 ? levels.indexOf(fmt(v)) / (levels.length - 1) : 0.5);
  return { name, pos: (v) => (v === undefined || v === null ? null : at(v)), ticks: levels.map((l) => [at(l), l]) };
}

export function parallelCoordinates(runs, params, metricName, goal) {
  const cols = [...params, ...(metricName ? [metricName] : [])];
  const get = (r, c) => (c === metricName && !params.includes(c) ? r.metric : r.config?.[c]);
  const axes = cols.map((c) => axisOf(c, runs.map((r) => get(r, c))));
  const W = Math.max(420, 140 * cols.length), H = 300, top = 30, bottom = 40;
  const x = scale(0, Math.max(1, cols.length - 1), 60, W - 60);
  const y = (p) => top + (1 - p) * (H - top - bottom);
  const svg = s("svg", { id: "parallel", width: W, height: H, role: "img", "aria-label": "parallel coordinates" });
  const [mlo, mhi] = extent(runs.map((r) => r.metric));
  const color = (m) => {
    if (typeof m !== "number") return "#999";
    let t = mhi > mlo ? (m - mlo) / (mhi - mlo) : 0.5;
    if (goal === "minimize") t = 1 - t; // good = warm, whichever the direction
    return `hsl(${220 - 200 * t}, 70%, 50%)`;
  };
  const lines = s("g", { class: "lines" });
  for (const r of runs) {
    const pts = axes.map((a, i) => [x(i), a.pos(get(r, cols[i]))]).filter(([, p]) => p !== null);
    lines.append(s("polyline", { class: "pc-line", fill: "none", stroke: color(r.metric), "stroke-width": 1.5, "stroke-opacity": 0.8,
      points: pts.map(([px, p]) => `${px.toFixed(1)},${y(p).toFixed(1)}`).join(" "), "data-run": r.run_id },
      s("title", {}, `${r.run_id}: ${metricName || "metric"} = ${fmt(r.metric)}`)));
  }
  svg.append(lines);
  axes.forEach((a, i) => {
    const g = s("g", { class: "pc-axis", "font-size": 10, fill: "currentColor" },
      s("line", { x1: x(i), x2: x(i), y1: y(0), y2: y(1), stroke: "currentColor", "stroke-opacity": 0.5 }),
      s("text", { x: x(i), y: top - 12, "text-anchor": "middle", "font-weight": 600 }, a.name));
    const step = Math.ceil(a.ticks.length / 8);
    a.ticks.filter((_, j) => j % step === 0).forEach(([p, label]) =>
      g.append(s("text", { x: x(i) + 4, y: y(p) + 3 }, String(label).slice(0, 14))));
    svg.append(g);
  });
  return svg;
}

export async function render(main, entity, project, sweepId) {
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`],
    ["Sweeps", `/${enc(entity)}/${enc(project)}/sweeps`], [sweepId]);
  document.title = `sweep ${sweepId} · trackwell`;
  const base = `/projects/${enc(entity)}/${enc(project)}/sweeps/${enc(sweepId)}`;
  const [sw, imp] = await Promise.all([get(base), get(`${base}/importance`)]);
  const metric = sw.config?.metric || {};
  const params = [...new Set(sw.runs.flatMap((r) => Object.keys(r.config || {})))].sort();
  const scored = sw.runs.filter((r) => typeof r.metric === "number");
  const best = [...scored].sort((a, b) => (metric.goal === "maximize" ? b.metric - a.metric : a.metric - b.metric)).slice(0, 5);
  const runRow = (r) => h("tr", {}, h("td", {}, h("a", { href: runHref(entity, project, r.run_id) }, r.run_id)),
    h("td", { class: `state-${r.state}` }, r.state), h("td", {}, fmt(r.metric)),
    params.map((p) => h("td", {}, fmt(r.config?.[p]))), h("td", {}, fmtTime(r.created_at)));
  const runHead = h("tr", {}, ["Run", "State", metric.name || "metric", ...params, "Created"].map((c) => h("th", {}, c)));
  clear(main).append(
    h("h1", {}, `Sweep ${sw.name || sw.id}`, " ", h("small", { id: "sweep-state", class: "muted" }, sw.state)),
    h("p", { class: "muted" }, `${sw.config?.method || ""} · ${sw.run_count} runs · controller ${sw.controller}`,
      sw.done_reason ? ` · done: ${sw.done_reason}` : "", metric.name ? ` · ${metric.goal || "minimize"} ${metric.name}` : ""),
    h("h2", {}, "Parallel coordinates"),
    sw.runs.length ? h("div", { class: "table-wrap wide" }, parallelCoordinates(sw.runs, params, metric.name, metric.goal)) : h("p", { class: "muted" }, "No runs yet."),
    h("h2", {}, "Parameter importance", " ", h("small", { class: "muted" }, `for ${imp.metric || "the metric"}, over ${imp.runs} runs`)),
    h("table", { id: "importance" }, h("thead", {}, h("tr", {}, ["Parameter", "Importance", "Correlation"].map((c) => h("th", {}, c)))),
      h("tbody", {}, imp.params.map((p) => h("tr", { class: "importance-row" }, h("td", {}, p.name),
        h("td", {}, p.importance === null ? "n/a" : h("span", { class: "bar-cell" },
          h("span", { class: "bar-fill", style: { width: `${Math.round(p.importance * 100)}%` } }), fmt(+p.importance.toFixed(3)))),
        h("td", {}, p.correlation === null ? "n/a" : fmt(+p.correlation.toFixed(3))))))),
    h("h2", {}, "Best runs"), best.length ? h("table", { id: "best-runs" }, h("thead", {}, runHead.cloneNode(true)), h("tbody", {}, best.map(runRow)))
      : h("p", { class: "muted" }, "No run has reported the metric yet."),
    h("h2", {}, "Runs"), h("div", { class: "table-wrap" }, h("table", { id: "sweep-runs" }, h("thead", {}, runHead), h("tbody", {}, sw.runs.map(runRow)))),
    h("h2", {}, "Configuration"), h("pre", { class: "log", id: "sweep-config" }, JSON.stringify(sw.config, null, 2)));
}
