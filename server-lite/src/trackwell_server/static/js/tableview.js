// A logged table, one page at a time. Sorting, filtering and paging happen on the
// server (GET .../table?path=, which reads the Parquet with pyarrow); media cells
// show as thumbnails. The view's state is in the URL (t.key, t.sort, t.desc, t.page,
// t.where, t.op, t.value).
import { get, runPath, enc } from "./api.js";
import { h, clear, fmt } from "./dom.js";
import { param, setParams } from "./state.js";
import { mediaUrl, mediaKeys } from "./media.js";

export const PAGE = 20;
const OPS = ["=", "!=", "<", ">", "<=", ">=", "~"];

/** Rows of a table file: {columns, column_types, nrows, total, rows}. */
export function tableRows(entity, project, id, path, { offset = 0, limit = PAGE, sort = "", desc = false, where = "", op = "=", value = "" } = {}) {
  const q = new URLSearchParams({ path, offset: String(offset), limit: String(limit) });
  if (sort) { q.set("sort", sort); if (desc) q.set("desc", "true"); }
  if (where) { q.set("where", where); q.set("op", op); q.set("value", value); }
  return get(`${runPath(entity, project, id)}/table?${q}`);
}

function cell(value, url) {
  if (value && typeof value === "object" && typeof value._type === "string" && value.path) {
    if (value._type === "image-file") return h("img", { class: "thumb", src: url(value.path), alt: value.caption || "", loading: "lazy" });
    if (value._type === "audio-file") return h("audio", { controls: true, preload: "none", src: url(value.path) });
    return h("a", { href: url(value.path), download: value.path.split("/").pop() }, value._type);
  }
  return fmt(value);
}

export async function tablesTab(body, entity, project, id, run) {
  const keys = mediaKeys(run.summary, new Set(["table-file"]));
  if (!keys.length) { clear(body).append(h("p", { class: "muted" }, "This run logged no tables.")); return; }
  const url = (path) => mediaUrl(entity, project, id, path);
  const st = {
    key: keys.includes(param("t.key")) ? param("t.key") : keys[0], sort: param("t.sort"), desc: param("t.desc") === "1",
    page: Math.max(0, parseInt(param("t.page", "0"), 10) || 0), where: param("t.where"), op: param("t.op", "="), value: param("t.value"),
  };
  const keySel = h("select", { id: "table-key", "aria-label": "table" }, keys.map((k) => h("option", { value: k, selected: k === st.key }, k)));
  const whereSel = h("select", { id: "table-where", "aria-label": "filter column" });
  const opSel = h("select", { id: "table-op", "aria-label": "filter operator" }, OPS.map((o) => h("option", { value: o, selected: o === st.op }, o)));
  const valueIn = h("input", { id: "table-value", type: "text", value: st.value, placeholder: "value", "aria-label": "filter value" });
  const info = h("span", { id: "table-info", class: "muted" });
  const prev = h("button", { type: "button", id: "table-prev" }, "‹ Prev");
  const next = h("button", { type: "button", id: "table-next" }, "Next ›");
  const wrap = h("div", { class: "table-wrap tall" });
  const err = h("p", { class: "error", role: "alert" });

  let latest = 0; // quick clicks start several loads: only the newest may draw

  async function load() {
    const mine = ++latest;
    setParams({ "t.key": st.key, "t.sort": st.sort, "t.desc": st.desc, "t.page": st.page || "", "t.where": st.where,
      "t.op": st.where && st.op !== "=" ? st.op : "", "t.value": st.where ? st.value : "" });
    const path = run.summary[st.key].path;
    let data;
    try {
      data = await tableRows(entity, project, id, path, { offset: st.page * PAGE, sort: st.sort, desc: st.desc,
        where: st.where, op: st.op, value: st.value });
      if (mine !== latest) return;
      err.textContent = "";
    } catch (e) { if (mine === latest) err.textContent = e.message; return; }
    if (whereSel.options.length !== data.columns.length + 1) {
      clear(whereSel).append(h("option", { value: "" }, "(no filter)"),
        ...data.columns.map((c) => h("option", { value: c, selected: c === st.where }, c)));
    }
    const last = Math.max(0, Math.ceil(data.total / PAGE) - 1);
    info.textContent = data.total ? `rows ${st.page * PAGE + 1}–${st.page * PAGE + data.rows.length} of ${data.total}`
      + (data.total !== data.nrows ? ` (filtered from ${data.nrows})` : "") : `no rows (of ${data.nrows})`;
    prev.disabled = st.page <= 0; next.disabled = st.page >= last;
    const head = h("tr", {}, data.columns.map((c) => h("th", { class: "sortable", dataset: { col: c },
      "aria-sort": st.sort === c ? (st.desc ? "descending" : "ascending") : "none", title: data.column_types[c] || "",
      onclick: () => { st.desc = st.sort === c ? !st.desc : false; st.sort = c; st.page = 0; load(); } },
      c, st.sort === c ? (st.desc ? " ▼" : " ▲") : "")));
    clear(wrap).append(h("table", { id: "table-rows" }, h("thead", {}, head),
      h("tbody", {}, data.rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, cell(v, url))))))));
  }
  keySel.onchange = () => { st.key = keySel.value; st.sort = ""; st.where = ""; st.page = 0; clear(whereSel); load(); };
  prev.onclick = () => { st.page -= 1; load(); };
  next.onclick = () => { st.page += 1; load(); };
  const apply = h("button", { type: "button", id: "table-apply" }, "Filter");
  apply.onclick = () => { st.where = whereSel.value; st.op = opSel.value; st.value = valueIn.value; st.page = 0; load(); };
  clear(body).append(h("div", { class: "toolbar" }, keySel, "Filter:", whereSel, opSel, valueIn, apply, prev, next, info), err, wrap);
  await load();
}
