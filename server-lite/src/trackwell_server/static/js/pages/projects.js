// The projects of the user's entity and teams.
import { get, enc } from "../api.js";
import { h, clear, fmtTime } from "../dom.js";
import { crumbs } from "../app.js";
import { keysSection } from "../keys.js";

export async function render(main) {
  crumbs(["Projects", "/"]);
  const viewer = await get("/viewer");
  const entities = [viewer.entity, ...viewer.teams];
  const lists = await Promise.all(entities.map((e) => get(`/projects?entity=${enc(e)}`)));
  const projects = lists.flatMap((l) => l.projects);
  const rows = projects.map((p) => h("tr", {},
    h("td", {}, h("a", { href: `/${enc(p.entity)}/${enc(p.name)}` }, p.name)),
    h("td", {}, p.entity), h("td", {}, String(p.run_count)), h("td", {}, p.visibility), h("td", {}, fmtTime(p.created_at))));
  clear(main).append(h("h1", {}, "Projects"),
    projects.length
      ? h("table", { id: "projects" }, h("thead", {}, h("tr", {}, ...["Project", "Entity", "Runs", "Visibility", "Created"]
        .map((c) => h("th", {}, c)))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, "No projects yet: log a run (trackwell.init(project=...)) and it shows here."),
    window.trackwellSession?.auth ? keysSection() : "");
}
