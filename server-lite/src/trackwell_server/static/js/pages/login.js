// Log in with an API key: the server answers with an HttpOnly session cookie.
import { post, setCsrf } from "../api.js";
import { h, clear } from "../dom.js";
import { crumbs } from "../app.js";

/** `path` resolved against this origin, or "/" when it would leave it (the server checked it too). */
function sameOrigin(path) {
  try {
    const url = new URL(path || "/", location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}

export async function render(main) {
  crumbs(["Log in"]);
  const key = h("input", { type: "password", name: "api_key", autocomplete: "current-password", required: true,
    "aria-label": "API key", placeholder: "tw_…" });
  const msg = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "login" },
    h("h1", {}, "Log in to trackwell"),
    h("label", {}, "API key (from `trackwell login` or your admin)"), key,
    h("button", { class: "primary", type: "submit" }, "Log in"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const next = new URLSearchParams(location.search).get("next") || "/";
      const res = await post("/_dash/login", { api_key: key.value, next });
      setCsrf(res.csrf);
      location.assign(sameOrigin(res.next));
    } catch (err) {
      msg.textContent = err.message;
    }
  });
  clear(main).append(form);
  key.focus();
}
