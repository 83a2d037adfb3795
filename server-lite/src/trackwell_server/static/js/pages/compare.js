// Runs side by side: config and summary with differing rows marked, charts overlaid.
import { get, buckets, runPath, enc } from "../api.js";
import { h, clear, fmt } from "../dom.js";
import { crumbs } from "../app.js";
import { runColor } from "../colors.js";
import { listParam, chartSettings } from "../state.js";
import { panelGrid, chartControls } from "../panels.js";

function diffTable(runs, field, id) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r[field] || {})))].filter((k) => !k.startsWith("_")).sort();
  return h("table", { class: "diff", id }, h("thead", {}, h("tr", {}, h("th", {}, field),
    runs.map((r) => h("th", {}, h("span", { class: "swatch", style: { background: runColor(r.id) } }), r.display_name || r.id)))),
  h("tbody", {}, keys.map((k) => {
    const vals = runs.map((r) => fmt(r[field]?.[k]));
    const changed = new Set(vals).size > 1;
    return h("tr", { class: changed ? "changed" : null }, h("td", {}, k), vals.map((v) => h("td", { class: changed ? "changed" : null }, v)));
  })));
}

export async function render(main, entity, project) {
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`], ["Compare"]);
  const ids = listParam("runs");
  if (!ids.length) {
    clear(main).append(h("p", { class: "muted" }, "Select runs in the workspace table, then Compare selected."));
    return;
  }
  const runs = await Promise.all(ids.map((id) => get(runPath(entity, project, id))));
  let settings = chartSettings();
  const chartsEl = h("div", { id: "panels" });
  let grid = null;
  async function draw() {
    const data = await Promise.all(runs.map(async (r) => ({ id: r.id, label: r.display_name || r.id, color: runColor(r.id),
      series: (await buckets(entity, project, r.id, { x: settings.x, n: 500 })).series })));
    if (grid) grid.update(data, settings); else grid = panelGrid(chartsEl, data, settings);
  }
  clear(main).append(h("h1", {}, `Comparing ${runs.length} runs`),
    h("h2", {}, "Config"), diffTable(runs, "config", "config-diff"),
    h("h2", {}, "Summary"), diffTable(runs, "summary", "summary-diff"),
    h("h2", {}, "Charts"), chartControls(settings, [], (next) => { settings = next; draw(); }), chartsEl);
  await draw();
}
