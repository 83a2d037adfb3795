// A project's sweeps, newest first.
import { get, enc } from "../api.js";
import { h, clear, fmtTime } from "../dom.js";
import { crumbs } from "../app.js";

export async function render(main, entity, project) {
  crumbs(["Projects", "/"], [`${entity}/${project}`, `/${enc(entity)}/${enc(project)}`], ["Sweeps"]);
  document.title = `Sweeps · ${project} · trackwell`;
  const { sweeps } = await get(`/projects/${enc(entity)}/${enc(project)}/sweeps`);
  clear(main).append(h("h1", {}, "Sweeps"), sweeps.length ? h("table", { id: "sweeps" },
    h("thead", {}, h("tr", {}, ["Sweep", "State", "Method", "Runs", "Created"].map((c) => h("th", {}, c)))),
    h("tbody", {}, sweeps.map((sw) => h("tr", {},
      h("td", {}, h("a", { href: `/${enc(entity)}/${enc(project)}/sweeps/${enc(sw.id)}` }, sw.name || sw.id)),
      h("td", {}, sw.state), h("td", {}, sw.config?.method || ""), h("td", {}, sw.run_count), h("td", {}, fmtTime(sw.created_at))))))
    : h("p", { class: "muted" }, "This project has no sweeps."));
}
