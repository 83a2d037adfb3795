// View state lives in the URL (?sel=a,b&smooth=0.6&x=_runtime&log=1...), so a link
// reproduces the view. Changes replace the history entry: no back-button spam.

export function param(name, fallback = "") {
  const v = new URLSearchParams(location.search).get(name);
  return v === null ? fallback : v;
}

export function listParam(name) {
  const v = param(name);
  return v ? v.split(",").filter(Boolean) : [];
}

export function setParams(values) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(values)) {
    const s = Array.isArray(v) ? v.join(",") : v === true ? "1" : v === false || v == null ? "" : String(v);
    if (s) q.set(k, s); else q.delete(k);
  }
  const search = q.toString();
  history.replaceState(history.state, "", location.pathname + (search ? `?${search}` : ""));
}

/** The chart settings every page with charts shares. */
export function chartSettings() {
  return {
    smoothing: Math.min(0.999, Math.max(0, parseFloat(param("smooth", "0")) || 0)),
    x: param("x", "_step"),
    log: param("log") === "1",
  };
}
