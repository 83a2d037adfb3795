// "New API key" on the projects page. The server mints a key for a dashboard session
// only when one of the user's keys is entered again: a session borrowed by a page on
// another port of this host must not turn into a key that outlives it.
import { post } from "./api.js";
import { h } from "./dom.js";

export function keysSection() {
  const current = h("input", { type: "password", name: "current_key", autocomplete: "current-password",
    required: true, "aria-label": "your API key", placeholder: "tw_…" });
  const out = h("p", { id: "new-key", role: "status" });
  const form = h("form", { class: "new-key" },
    h("label", {}, "Enter one of your API keys to make another (for a second machine or a CI job)"), current,
    h("button", { type: "submit" }, "Make a new key"), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.className = "";
    try {
      const made = await post("/keys", { api_key: current.value });
      current.value = "";
      out.replaceChildren("New key (shown only this once): ",
        h("input", { type: "text", readonly: true, value: made.api_key, size: 60, "aria-label": "new API key" }));
    } catch (err) {
      out.className = "error";
      out.textContent = err.message;
    }
  });
  return h("section", { id: "keys" }, h("h2", {}, "API keys"), form);
}
