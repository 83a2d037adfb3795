// One run: overview (config, summary, metadata, tags, notes), charts of every
// metric and of system metrics, console logs, files. Tab and chart settings in the URL.
// Media, tables, custom charts and artifacts are tabs drawn by their own modules.
import { get, buckets, fileText, runPath, enc } from "../api.js";
import { h, clear, fmtTime, fmtDuration, kvTable } from "../dom.js";
import { crumbs } from "../app.js";
import { runColor } from "../colors.js";
import { param, setParams, chartSettings } from "../state.js";
import { panelGrid, chartControls } from "../panels.js";
import { mediaTab } from "../media.js";
import { tablesTab } from "../tableview.js";
import { plotsTab } from "../plots.js";
import { runArtifactsTab } from "./artifact.js";

const POLL_MS = 2000;
const TABS = [["overview", "Overview"], ["charts", "Charts"], ["media", "Media"], ["tables", "Tables"],
  ["plots", "Custom charts"], ["artifacts", "Artifacts"], ["logs", "Logs"], ["files", "Files"]];
/** Tabs drawn once: polling a running run does not redraw them (a slider would jump). */
const STILL = new Set(["files", "media", "tables", "plots", "artifacts"]);

/** Records the server refused (over a limit, a bad key or step): how many, and the last few with why. */
function refusals(refused) {
  if (!refused || !refused.count) return [];
  const n = refused.count;
  return [h("h2", {}, "Refused records"),
    h("p", { class: "error", id: "refused-count" },
      `${n} record${n === 1 ? " was" : "s were"} refused by the server and not stored; the rest of the run was kept.`),
    h("table", { class: "kv", id: "refused" }, h("thead", {}, h("tr", {},
      ["seq", "kind", "key", "reason", "stream", "at"].map((c) => h("th", {}, c)))),
    h("tbody", {}, (refused.last || []).slice().reverse().map((r) => h("tr", {},
      h("td", {}, String(r.seq)), h("td", {}, r.kind || ""), h("td", {}, r.key ?? ""), h("td", {}, r.reason || ""),
      h("td", {}, r.stream || ""), h("td", {}, r.at ? fmtTime(r.at) : "")))))];
}

function overview(run) {
  return h("div", { id: "overview" },
    kvTable({ id: run.id, state: run.state, group: run.group, job_type: run.job_type, created: fmtTime(run.created_at),
      runtime: fmtDuration(run.runtime), last_step: run.last_step, exit_code: run.exit_code }, "run-info"),
    ...refusals(run.refused),
    h("h2", {}, "Tags"), h("p", { id: "tags" }, (run.tags || []).length ? run.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "none")),
    h("h2", {}, "Notes"), h("p", { id: "notes" }, run.notes || h("span", { class: "muted" }, "none")),
    h("h2", {}, "Config"), kvTable(run.config, "config"),
    h("h2", {}, "Summary"), kvTable(run.summary, "summary"),
    h("h2", {}, "Metadata"), kvTable(run.metadata, "metadata"));
}

export async function render(main, entity, project, id) {
  let run = await get(runPath(entity, project, id));
  const name = () => run.display_name || run.id;
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`], [name()]);
  document.title = `${name()} · trackwell`;
  let tab = TABS.some(([t]) => t === param("tab")) ? param("tab") : "overview";
  let settings = chartSettings();
  const title = h("h1", {}, h("span", { class: "swatch", style: { background: runColor(run.id) } }), name(),
    " ", h("small", { class: `state-${run.state}`, id: "state" }, run.state));
  const body = h("div", {});
  const tabs = h("div", { class: "tabs", role: "tablist" }, TABS.map(([t, label]) =>
    h("a", { href: `?tab=${t}`, role: "tab", "aria-selected": String(t === tab), dataset: { tab: t }, onclick: (ev) => {
      ev.preventDefault(); tab = t; setParams({ tab: t === "overview" ? "" : t });
      for (const a of tabs.children) a.setAttribute("aria-selected", String(a.dataset.tab === t));
      show();
    } }, label)));
  clear(main).append(title, tabs, body);

  let grid = null;
  let system = null;
  async function charts(refresh) {
    const data = await buckets(entity, project, id, { x: settings.x, n: 1000 });
    const lines = [{ id: run.id, label: name(), color: runColor(run.id), series: data.series }];
    const sys = await get(`${runPath(entity, project, id)}/system?samples=500`);
    const sysSeries = {};
    for (const row of sys.rows) {
      for (const [k, v] of Object.entries(row)) {
        if (k.startsWith("_") || typeof v !== "number") continue;
        const key = k.startsWith("system") ? k.replace(/^system[./]/, "system/") : `system/${k}`;
        (sysSeries[key] ||= { x: [], y: [], min: null, max: null }).x.push(row._runtime ?? row._timestamp);
        sysSeries[key].y.push(v);
      }
    }
    if (!refresh || !grid) {
      const chartsEl = h("div", { id: "panels" });
      const sysEl = h("div", { id: "system-panels" });
      clear(body).append(chartControls(settings, [], (next) => { settings = next; charts(false); }), chartsEl,
        Object.keys(sysSeries).length ? h("h2", {}, "System (x: relative time)") : "", sysEl);
      grid = panelGrid(chartsEl, lines, settings);
      system = Object.keys(sysSeries).length ? panelGrid(sysEl, [{ ...lines[0], series: sysSeries }], { ...settings, x: "_runtime" }) : null;
    } else {
      grid.update(lines, settings);
      if (system) system.update([{ ...lines[0], series: sysSeries }], { ...settings, x: "_runtime" });
    }
  }

  async function logs() {
    // Look before fetching: a 404 would show as an error in the browser's console.
    const list = await get(`${runPath(entity, project, id)}/files`);
    const text = list.files.some((f) => f.path === "output.log") ? await fileText(entity, project, id, "output.log") : null;
    const pre = body.querySelector("pre.log") || h("pre", { class: "log", id: "log" });
    pre.textContent = text === null ? "No console output was captured for this run." : text;
    if (!pre.isConnected) clear(body).append(pre);
  }

  async function files() {
    const list = await get(`${runPath(entity, project, id)}/files`);
    clear(body).append(list.files.length ? h("table", { id: "files" },
      h("thead", {}, h("tr", {}, h("th", {}, "Path"), h("th", {}, "Size"), h("th", {}, "Updated"))),
      h("tbody", {}, list.files.map((f) => h("tr", {},
        h("td", {}, h("a", { href: `/api/v1${runPath(entity, project, id)}/files/${f.path.split("/").map(enc).join("/")}`, download: f.path.split("/").pop() }, f.path)),
        h("td", {}, `${f.size.toLocaleString()} B`), h("td", {}, fmtTime(f.updated_at))))))
      : h("p", { class: "muted" }, "No files."));
  }

  async function show(refresh = false) {
    if (tab === "overview") clear(body).append(overview(run));
    else if (tab === "charts") await charts(refresh);
    else if (tab === "logs") await logs();
    else if (tab === "media") await mediaTab(body, entity, project, id, run);
    else if (tab === "tables") await tablesTab(body, entity, project, id, run);
    else if (tab === "plots") await plotsTab(body, entity, project, id, run);
    else if (tab === "artifacts") await runArtifactsTab(body, entity, project, id);
    else await files();
  }
  await show();

  // Live: a running run's page follows it without a reload.
  const timer = setInterval(async () => {
    if (run.state !== "running") { clearInterval(timer); return; }
    run = await get(runPath(entity, project, id));
    document.getElementById("state").textContent = run.state;
    document.getElementById("state").className = `state-${run.state}`;
    if (!STILL.has(tab)) await show(true);
  }, POLL_MS);
}
