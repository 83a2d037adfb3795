// The dashboard's entry point: who is logged in, then the page for this URL.
// Pages are modules with render(main, params); links are ordinary links.
import { get, post, setCsrf, ApiError } from "./api.js";
import { h, clear } from "./dom.js";

const ROUTES = [
  [/^\/login$/, "login"],
  [/^\/$/, "projects"],
  [/^\/([^/]+)\/([^/]+)$/, "workspace"],
  [/^\/([^/]+)\/([^/]+)\/compare$/, "compare"],
  [/^\/([^/]+)\/([^/]+)\/runs\/([^/]+)$/, "run"],
  [/^\/([^/]+)\/([^/]+)\/artifacts$/, "artifacts"],
  [/^\/([^/]+)\/([^/]+)\/artifacts\/([^/]+)\/([^/]+)$/, "artifact"],
  [/^\/([^/]+)\/([^/]+)\/sweeps$/, "sweeps"],
  [/^\/([^/]+)\/([^/]+)\/sweeps\/([^/]+)$/, "sweep"],
];

export function crumbs(...items) {
  const nav = clear(document.getElementById("crumbs"));
  items.forEach(([label, href], i) => {
    if (i) nav.append(h("span", { class: "muted" }, "/"));
    nav.append(href ? h("a", { href }, label) : h("span", {}, label));
  });
}

async function main() {
  const app = document.getElementById("app");
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) { clear(app).append(h("p", { class: "error" }, "No such page.")); return; }
  const args = path.match(route[0]).slice(1).map(decodeURIComponent);
  try {
    const loading = import(`./pages/${route[1]}.js`); // fetched while the session is asked for
    if (route[1] !== "login") {
      const session = await get("/_dash/session");
      if (session.user === null) { // nobody logged in: a normal answer, not a 401
        location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      setCsrf(session.csrf);
      const who = clear(document.getElementById("who"));
      who.append(h("span", { class: "muted" }, session.user));
      if (session.auth) {
        who.append(" ", h("button", { type: "button", id: "logout", onclick: async () => {
          await post("/_dash/logout");
          location.assign("/login");
        } }, "Log out"));
      }
      window.trackwellSession = { user: session.user, admin: session.admin, auth: session.auth };
    }
    const page = await loading;
    await page.render(app, ...args);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // on the way to /login
    clear(app).append(h("p", { class: "error", role: "alert" }, err.message || String(err)));
    console.warn(err);
  }
  document.body.dataset.ready = "1";
}

main();
