// A project's artifacts: every collection, grouped by type, linking to its latest version.
import { get, enc } from "../api.js";
import { h, clear, fmtTime } from "../dom.js";
import { crumbs } from "../app.js";

export async function render(main, entity, project) {
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`], ["Artifacts"]);
  document.title = `Artifacts · ${project} · trackwell`;
  const items = [];
  let cursor = null;
  do {
    const page = await get(`/artifacts/${enc(entity)}/${enc(project)}?per_page=1000${cursor ? `&cursor=${enc(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  const types = [...new Set(items.map((c) => c.type))].sort();
  clear(main).append(h("h1", {}, "Artifacts"), items.length ? h("div", { id: "artifact-types" }, types.map((t) => [h("h2", {}, t),
    h("table", { class: "artifact-collections" }, h("thead", {}, h("tr", {}, ["Name", "Versions", "Aliases", "Updated"].map((c) => h("th", {}, c)))),
      h("tbody", {}, items.filter((c) => c.type === t).map((c) => h("tr", {},
        h("td", {}, h("a", { href: `/${enc(entity)}/${enc(project)}/artifacts/${enc(c.name)}/latest` }, c.name)),
        h("td", {}, c.version_count), h("td", {}, (c.aliases || []).map((a) => h("span", { class: "tag" }, a))),
        h("td", {}, fmtTime(c.updated_at))))))])) : h("p", { class: "muted" }, "This project has no artifacts."));
}
