// The REST API as the dashboard uses it: same-origin fetches carrying the session
// cookie, the CSRF token on writes, and a trip to the login page on 401.

const API = "/api/v1";
let csrf = "";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function setCsrf(token) { csrf = token || ""; }

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path.startsWith("/_dash/") ? path : API + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !path.startsWith("/_dash/login")) {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}`);
    throw new ApiError(401, "log in first");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error?.message || `${res.status} ${res.statusText}`);
  return data;
}

export const get = (path) => request("GET", path);
export const patch = (path, body) => request("PATCH", path, body);
export const post = (path, body) => request("POST", path, body);

export const enc = encodeURIComponent;
export const runPath = (e, p, id) => `/runs/${enc(e)}/${enc(p)}/${enc(id)}`;

/** Every run of a project (the API pages by 1,000). */
export async function allRuns(entity, project) {
  const runs = [];
  let cursor = null;
  do {
    const q = `per_page=1000&order=-created_at${cursor ? `&cursor=${enc(cursor)}` : ""}`;
    const page = await get(`/runs/${enc(entity)}/${enc(project)}?${q}`);
    runs.push(...page.runs);
    cursor = page.next_cursor;
  } while (cursor);
  return runs;
}

/** Chart-ready series of one run (the server buckets long series, keeping min and max). */
export function buckets(entity, project, id, { keys = null, x = "_step", n = 1000 } = {}) {
  const q = new URLSearchParams({ buckets: String(n), x_axis: x });
  if (keys) q.set("keys", keys.join(","));
  return get(`${runPath(entity, project, id)}/history/buckets?${q}`);
}

/** Plain text of a run file (console logs), or null when it does not exist. */
export async function fileText(entity, project, id, path) {
  const res = await fetch(`${API}${runPath(entity, project, id)}/files/${path.split("/").map(enc).join("/")}`,
    { credentials: "same-origin" });
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError(res.status, `${res.status} reading ${path}`);
  return res.text();
}
