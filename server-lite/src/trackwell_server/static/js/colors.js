// A run keeps its colour everywhere (table swatch, every chart, every page): the
// colour comes from its id, not from its position in a list.
export const PALETTE = ["#5387dd", "#da4c4c", "#479a5f", "#7d54b2", "#e87b35", "#229487", "#c565c7",
  "#a0a33b", "#4cb2d4", "#e5a50a", "#8f6a4a", "#ef6f9a", "#3a5ba0", "#6d9f3e", "#b5523b"];

export function runColor(id) {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length];
}

export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
