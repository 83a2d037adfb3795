// One artifact version: its collection's versions, aliases, tags, metadata, files
// (the manifest, each with a download link) and lineage (the run that logged it ->
// this version -> the runs that used it) drawn as SVG boxes and arrows. Also the run
// page's Artifacts tab (what a run logged and used).
import { get, runPath, enc } from "../api.js";
import { h, clear, fmtTime, kvTable } from "../dom.js";
import { crumbs } from "../app.js";
import { s } from "../svg.js";

const artPath = (e, p) => `/artifacts/${enc(e)}/${enc(p)}`;
export const artifactHref = (v) => `/${enc(v.entity)}/${enc(v.project)}/artifacts/${enc(v.name)}/${enc(v.version)}`;
const runHref = (r) => `/${enc(r.entity)}/${enc(r.project)}/runs/${enc(r.run_id)}`;

function versionsTable(items, id) {
  if (!items.length) return h("p", { class: "muted" }, "None.");
  return h("table", { id }, h("thead", {}, h("tr", {}, ["Artifact", "Type", "Aliases", "Size", "Created"].map((c) => h("th", {}, c)))),
    h("tbody", {}, items.map((v) => h("tr", {},
      h("td", {}, h("a", { href: artifactHref(v) }, `${v.name}:${v.version}`)), h("td", {}, v.type),
      h("td", {}, (v.aliases || []).map((a) => h("span", { class: "tag" }, a))),
      h("td", {}, `${(v.size || 0).toLocaleString()} B`), h("td", {}, fmtTime(v.created_at))))));
}

export async function runArtifactsTab(body, entity, project, id) {
  const [logged, used] = await Promise.all([
    get(`${runPath(entity, project, id)}/artifacts?direction=logged`),
    get(`${runPath(entity, project, id)}/artifacts?direction=used`)]);
  clear(body).append(h("h2", {}, "Logged"), versionsTable(logged.items, "logged-artifacts"),
    h("h2", {}, "Used"), versionsTable(used.items, "used-artifacts"));
}

/** Boxes in three columns (logged by, version, used by) joined by arrows. */
export function lineageGraph(version, loggedBy, usedBy) {
  const W = 180, H = 40, GAP = 90, ROW = 54;
  const rows = Math.max(1, usedBy.length);
  const height = rows * ROW + 10;
  const svg = s("svg", { id: "lineage", width: 3 * W + 2 * GAP + 20, height, role: "img", "aria-label": "lineage" });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "currentColor" }))));
  const box = (x, y, label, sub, href, cls) => {
    const g = s("g", { class: `node ${cls}` },
      s("rect", { x, y, width: W, height: H, rx: 6, fill: "var(--panel)", stroke: "var(--accent)" }),
      s("text", { x: x + 8, y: y + 17, "font-size": 12, fill: "currentColor" }, label.length > 26 ? `${label.slice(0, 25)}…` : label),
      s("text", { x: x + 8, y: y + 32, "font-size": 10, fill: "currentColor", "fill-opacity": 0.6 }, sub));
    if (!href) return g;
    const a = s("a", { href }, g);
    return a;
  };
  const mid = (height - H) / 2;
  const vx = 10 + W + GAP;
  svg.append(box(vx, mid, `${version.name}:${version.version}`, version.type, null, "version"));
  if (loggedBy) {
    svg.append(box(10, mid, loggedBy.name || loggedBy.run_id, `run ${loggedBy.run_id} · ${loggedBy.state}`, runHref(loggedBy), "logged-by"),
      s("line", { x1: 10 + W, y1: mid + H / 2, x2: vx, y2: mid + H / 2, stroke: "currentColor", "marker-end": "url(#arrow)" }));
  }
  usedBy.forEach((r, i) => {
    const ux = vx + W + GAP, uy = 5 + i * ROW;
    svg.append(box(ux, uy, r.name || r.run_id, `run ${r.run_id} · ${r.state}`, runHref(r), "used-by"),
      s("line", { x1: vx + W, y1: mid + H / 2, x2: ux, y2: uy + H / 2, stroke: "currentColor", "marker-end": "url(#arrow)" }));
  });
  return svg;
}

export async function render(main, entity, project, name, version) {
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`],
    ["Artifacts", `/${enc(entity)}/${enc(project)}/artifacts`], [`${name}:${version}`]);
  document.title = `${name}:${version} · trackwell`;
  const base = `${artPath(entity, project)}/${enc(name)}/${enc(version)}`;
  const [v, manifest, versions, usedBy, loggedBy] = await Promise.all([get(base), get(`${base}/manifest`),
    get(`${artPath(entity, project)}/${enc(name)}/versions?per_page=100`), get(`${base}/used-by`), get(`${base}/logged-by`)]);
  const entries = Object.entries(manifest.entries || {}).sort(([a], [b]) => a.localeCompare(b));
  const blob = (digest) => `/api/v1${artPath(entity, project)}/blobs/${enc(digest)}`;
  clear(main).append(
    h("h1", {}, `${v.name}:${v.version}`, " ", h("small", { class: "muted" }, v.type)),
    h("p", { id: "aliases" }, "Aliases: ", (v.aliases || []).map((a) => h("span", { class: "tag" }, a)),
      " Tags: ", (v.tags || []).length ? v.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "none")),
    v.description ? h("p", { id: "description" }, v.description) : "",
    kvTable({ digest: v.digest, size: `${(v.size || 0).toLocaleString()} B`, files: v.file_count, created: fmtTime(v.created_at),
      source: v.source ? `${v.source.entity}/${v.source.project}/${v.source.name}:${v.source.version}` : null }, "artifact-info"),
    h("h2", {}, "Lineage"), lineageGraph(v, loggedBy, usedBy.items),
    h("h2", {}, "Versions"), h("div", { class: "table-wrap" }, versionsTable(versions.items.map((x) => ({ ...x, entity, project })), "versions")),
    h("h2", {}, "Metadata"), kvTable(v.metadata, "artifact-metadata"),
    h("h2", {}, `Files (${entries.length.toLocaleString()})`),
    h("div", { class: "table-wrap" }, h("table", { id: "manifest" },
      h("thead", {}, h("tr", {}, h("th", {}, "Path"), h("th", {}, "Size"), h("th", {}, "Digest"))),
      h("tbody", {}, entries.slice(0, 2000).map(([path, e]) => h("tr", {},
        h("td", {}, e.ref ? h("span", { title: e.ref }, path, " ", h("small", { class: "muted" }, e.ref))
          : h("a", { href: blob(e.digest), download: path.split("/").pop() }, path)),
        h("td", {}, e.size >= 0 ? `${e.size.toLocaleString()} B` : ""), h("td", { class: "muted" }, (e.digest || "").slice(0, 12))))))),
    entries.length > 2000 ? h("p", { class: "muted" }, `First 2,000 of ${entries.length.toLocaleString()} files.`) : "");
}
