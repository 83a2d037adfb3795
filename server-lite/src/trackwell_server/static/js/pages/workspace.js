// A project's workspace: the runs table (search, filter, sort, group, columns,
// select, rename, tag) above a panel grid of every metric for the shown runs.
// Keyboard: "/" search, j/k move, x select, Enter open, e edit.
import { allRuns, buckets, patch, runPath, enc } from "../api.js";
import { h, clear, fmt, fmtTime } from "../dom.js";
import { crumbs } from "../app.js";
import { runColor } from "../colors.js";
import { param, listParam, setParams, chartSettings } from "../state.js";
import { panelGrid, chartControls } from "../panels.js";

/** How many runs the charts show when none is selected (W&B shows the first 10). */
const DEFAULT_SHOWN = 10;
const POLL_MS = 3000;

export function value(run, col) {
  if (col === "name") return run.display_name || run.id;
  if (col.startsWith("config.")) return run.config?.[col.slice(7)];
  if (col.startsWith("summary.")) {
    const v = run.summary?.[col.slice(8)];
    return v && typeof v === "object" && !Array.isArray(v) && "last" in v ? v.last : v;
  }
  return run[col];
}

/** "summary.acc > 0.5 and config.opt = adam and tags = best": each clause field op value. */
export function parseFilter(text) {
  const clauses = text.split(/\s+and\s+/i).map((c) => c.trim()).filter(Boolean);
  return clauses.map((c) => {
    const m = c.match(/^(\S+)\s*(>=|<=|!=|=|>|<|~)\s*(.*)$/);
    if (!m) throw new Error(`cannot read filter "${c}": write field op value, e.g. summary.loss < 0.5`);
    return { field: m[1], op: m[2], value: m[3].replace(/^["']|["']$/g, "") };
  });
}

function matches(run, clauses) {
  return clauses.every(({ field, op, value: want }) => {
    const got = field === "tags" || field === "tag" ? run.tags : value(run, field);
    if (Array.isArray(got)) return op === "!=" ? !got.includes(want) : got.includes(want);
    const num = Number(want);
    const both = typeof got === "number" && want !== "" && !Number.isNaN(num);
    const a = both ? got : String(got ?? "");
    const b = both ? num : want;
    switch (op) {
      case "=": return a == b; // eslint-disable-line eqeqeq
      case "!=": return a != b; // eslint-disable-line eqeqeq
      case ">": return a > b;
      case "<": return a < b;
      case ">=": return a >= b;
      case "<=": return a <= b;
      case "~": return String(a).toLowerCase().includes(String(b).toLowerCase());
    }
    return false;
  });
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export async function render(main, entity, project) {
  crumbs(["Projects", "/"], [`${entity}/${project}`]);
  const runs = await allRuns(entity, project);
  const configKeys = [...new Set(runs.flatMap((r) => Object.keys(r.config || {})))].sort();
  const summaryKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary || {})))].filter((k) => !k.startsWith("_")).sort();
  const state = {
    search: param("q"), filter: param("filter"), sort: param("sort", "-created_at"), group: param("group"),
    cols: param("cols") ? listParam("cols")
      : [...configKeys.slice(0, 4).map((k) => `config.${k}`), ...summaryKeys.slice(0, 4).map((k) => `summary.${k}`)],
    sel: new Set(listParam("sel")), focus: 0, settings: chartSettings(),
  };
  let visible = [];

  const search = h("input", { type: "search", id: "search", placeholder: "Search runs (/)", value: state.search,
    "aria-label": "search runs" });
  const filter = h("input", { type: "text", id: "filter", size: 40, value: state.filter, "aria-label": "filter",
    placeholder: "filter: summary.loss < 0.5 and config.opt = adam" });
  const filterMsg = h("span", { class: "error", role: "status" });
  const groupSel = h("select", { id: "group", "aria-label": "group by" }, h("option", { value: "" }, "No grouping"),
    ...configKeys.map((k) => h("option", { value: k, selected: k === state.group }, `Group: ${k}`)));
  const colBoxes = [...configKeys.map((k) => `config.${k}`), ...summaryKeys.map((k) => `summary.${k}`)].map((c) =>
    h("label", {}, h("input", { type: "checkbox", value: c, checked: state.cols.includes(c), onchange: (ev) => {
      state.cols = ev.target.checked ? [...state.cols, c] : state.cols.filter((x) => x !== c);
      setParams({ cols: state.cols });
      drawTable();
    } }), ` ${c}`));
  const columns = h("details", { class: "columns" }, h("summary", {}, "Columns"), h("div", { class: "grid-cols" }, colBoxes));
  const compareLink = h("a", { id: "compare", href: "#" }, "Compare selected");
  const count = h("span", { class: "muted", id: "count" });
  const tbody = h("tbody", {});
  const thead = h("thead", {});
  const table = h("table", { id: "runs", "aria-label": "runs" }, thead, tbody);
  const charts = h("div", { id: "panels" });
  const dialog = editDialog(entity, project, (run) => { Object.assign(runs.find((r) => r.id === run.id), run); drawTable(); });

  function filtered() {
    let clauses = [];
    try { clauses = parseFilter(state.filter); filterMsg.textContent = ""; } catch (err) { filterMsg.textContent = err.message; }
    const q = state.search.toLowerCase();
    const out = runs.filter((r) => (!q || (r.display_name || "").toLowerCase().includes(q) || r.id.toLowerCase().includes(q)
      || (r.tags || []).some((t) => t.toLowerCase().includes(q))) && matches(r, clauses));
    const desc = state.sort.startsWith("-");
    const col = state.sort.replace(/^[-+]/, "");
    out.sort((a, b) => (desc ? -1 : 1) * compare(value(a, col), value(b, col)));
    if (state.group) out.sort((a, b) => compare(fmt(a.config?.[state.group]), fmt(b.config?.[state.group])));
    return out;
  }

  function shown() {
    const sel = visible.filter((r) => state.sel.has(r.id));
    return sel.length ? sel : visible.slice(0, DEFAULT_SHOWN);
  }

  function header() {
    const cols = [["", ""], ["name", "Name"], ["state", "State"], ["created_at", "Created"], ["tags", "Tags"],
      ...state.cols.map((c) => [c, c])];
    clear(thead).append(h("tr", {}, cols.map(([c, label]) => {
      if (!c || c === "tags") return h("th", {}, label);
      const active = state.sort.replace(/^[-+]/, "") === c;
      const arrow = active ? (state.sort.startsWith("-") ? " ▼" : " ▲") : "";
      return h("th", { class: "sortable", tabindex: "0", dataset: { col: c },
        "aria-sort": active ? (state.sort.startsWith("-") ? "descending" : "ascending") : "none",
        onclick: () => sortBy(c), onkeydown: (ev) => { if (ev.key === "Enter") sortBy(c); } }, label + arrow);
    })));
  }

  function sortBy(c) {
    state.sort = state.sort === `-${c}` ? `+${c}` : `-${c}`;
    setParams({ sort: state.sort === "-created_at" ? "" : state.sort });
    drawTable();
  }

  function row(r, i) {
    const box = h("input", { type: "checkbox", checked: state.sel.has(r.id), "aria-label": `select ${r.display_name || r.id}`,
      onchange: (ev) => toggle(r.id, ev.target.checked) });
    return h("tr", { dataset: { id: r.id }, class: i === state.focus ? "focused" : null, tabindex: "-1" },
      h("td", {}, box),
      h("td", { class: "name" }, h("span", { class: "swatch", style: { background: runColor(r.id) } }),
        h("a", { href: `/${enc(entity)}/${enc(project)}/runs/${enc(r.id)}` }, r.display_name || r.id), " ",
        h("button", { type: "button", class: "edit", title: "rename / tag", "aria-label": `edit ${r.display_name || r.id}`,
          onclick: () => dialog.open(r) }, "✎")),
      h("td", { class: `state-${r.state}` }, r.state),
      h("td", {}, fmtTime(r.created_at)),
      h("td", {}, (r.tags || []).map((t) => h("span", { class: "tag" }, t))),
      ...state.cols.map((c) => h("td", { dataset: { col: c } }, fmt(value(r, c)))));
  }

  function drawTable() {
    visible = filtered();
    header();
    const rows = [];
    let lastGroup;
    visible.forEach((r, i) => {
      if (state.group) {
        const g = fmt(r.config?.[state.group]);
        if (g !== lastGroup) {
          const n = visible.filter((x) => fmt(x.config?.[state.group]) === g).length;
          rows.push(h("tr", { class: "group" }, h("td", { colspan: String(5 + state.cols.length) }, `${state.group}: ${g || "(none)"} · ${n} runs`)));
          lastGroup = g;
        }
      }
      rows.push(row(r, i));
    });
    clear(tbody).append(...rows);
    count.textContent = `${visible.length} of ${runs.length} runs`;
    const sel = [...state.sel];
    compareLink.href = `/${enc(entity)}/${enc(project)}/compare?runs=${sel.map(enc).join(",")}`;
    compareLink.toggleAttribute("aria-disabled", sel.length < 2);
    drawCharts();
  }

  function toggle(id, on) {
    if (on) state.sel.add(id); else state.sel.delete(id);
    setParams({ sel: [...state.sel] });
    drawTable();
  }

  // -- charts: the shown runs' series, fetched once per run and x-axis, redrawn on change
  const cache = new Map();
  let grid = null;
  let drawing = 0;
  async function drawCharts(refresh = false) {
    const ticket = ++drawing;
    const show = shown();
    const st = state.settings;
    const data = await Promise.all(show.map(async (r) => {
      const k = `${r.id}|${st.x}`;
      if (refresh || !cache.has(k)) cache.set(k, await buckets(entity, project, r.id, { x: st.x, n: 500 }));
      return { id: r.id, label: r.display_name || r.id, color: runColor(r.id), series: cache.get(k).series, run: r };
    }));
    if (ticket !== drawing) return;
    let groups = null;
    if (state.group) {
      const names = [...new Set(data.map((d) => fmt(d.run.config?.[state.group])))];
      groups = names.map((g) => ({ label: `${state.group}=${g}`, color: runColor(g), ids: data.filter((d) => fmt(d.run.config?.[state.group]) === g).map((d) => d.id) }));
    }
    if (!grid) grid = panelGrid(charts, data, st, groups);
    else grid.update(data, st, groups);
    charts.dataset.runs = String(data.length);
  }

  search.addEventListener("input", () => { state.search = search.value; setParams({ q: state.search }); drawTable(); });
  filter.addEventListener("change", () => { state.filter = filter.value; setParams({ filter: state.filter }); drawTable(); });
  groupSel.addEventListener("change", () => { state.group = groupSel.value; setParams({ group: state.group }); drawTable(); });

  document.addEventListener("keydown", (ev) => {
    if (ev.target.matches("input, select, textarea") || dialog.el.open) return;
    if (ev.key === "/") { ev.preventDefault(); search.focus(); return; }
    const r = visible[state.focus];
    if (ev.key === "j" || ev.key === "ArrowDown") state.focus = Math.min(visible.length - 1, state.focus + 1);
    else if (ev.key === "k" || ev.key === "ArrowUp") state.focus = Math.max(0, state.focus - 1);
    else if (ev.key === "x" && r) { toggle(r.id, !state.sel.has(r.id)); return; }
    else if (ev.key === "e" && r) { dialog.open(r); return; }
    else if (ev.key === "Enter" && r) { location.assign(`/${enc(entity)}/${enc(project)}/runs/${enc(r.id)}`); return; }
    else return;
    ev.preventDefault();
    for (const tr of tbody.querySelectorAll("tr.focused")) tr.classList.remove("focused");
    const tr = tbody.querySelector(`tr[data-id="${CSS.escape(visible[state.focus]?.id || "")}"]`);
    if (tr) { tr.classList.add("focused"); tr.scrollIntoView({ block: "nearest" }); }
  });

  clear(main).append(
    h("h1", {}, project, " ", h("small", { class: "project-links" },
      h("a", { href: `/${enc(entity)}/${enc(project)}/artifacts`, id: "artifacts-link" }, "Artifacts"), " · ",
      h("a", { href: `/${enc(entity)}/${enc(project)}/sweeps`, id: "sweeps-link" }, "Sweeps"))),
    h("div", { class: "toolbar" }, search, filter, groupSel, columns, compareLink, count, filterMsg),
    h("div", { class: "table-wrap" }, table),
    chartControls(state.settings, [], (next) => { state.settings = next; drawCharts(); }),
    charts, dialog.el);
  drawTable();

  // Live: while any shown run is running, poll its info and series.
  setInterval(async () => {
    if (!shown().some((r) => r.state === "running")) return;
    const fresh = await allRuns(entity, project);
    runs.splice(0, runs.length, ...fresh);
    drawTable();
    drawCharts(true);
  }, POLL_MS);
}

/** The rename / tag dialog: a PATCH of name and tags. */
function editDialog(entity, project, onSaved) {
  const name = h("input", { type: "text", name: "name", "aria-label": "run name" });
  const tags = h("input", { type: "text", name: "tags", "aria-label": "tags (comma separated)" });
  const notes = h("textarea", { name: "notes", rows: "3", "aria-label": "notes" });
  const msg = h("p", { class: "error", role: "alert" });
  let run = null;
  const form = h("form", { method: "dialog" }, h("h2", {}, "Edit run"),
    h("p", {}, h("label", {}, "Name ", name)), h("p", {}, h("label", {}, "Tags ", tags)),
    h("p", {}, h("label", {}, "Notes ", notes)), msg,
    h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary", id: "save" }, "Save"),
      h("button", { type: "button", onclick: () => el.close() }, "Cancel")));
  const el = h("dialog", { id: "edit" }, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const body = { name: name.value.trim(), tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean), notes: notes.value };
      onSaved(await patch(runPath(entity, project, run.id), body));
      el.close();
    } catch (err) { msg.textContent = err.message; }
  });
  return {
    el,
    open(r) { run = r; name.value = r.display_name || ""; tags.value = (r.tags || []).join(", "); notes.value = r.notes || ""; msg.textContent = ""; el.showModal(); name.focus(); },
  };
}

