// Small DOM and formatting helpers shared by every page.

/** An element: el("button", {class: "x", onclick: f}, "text", child). Attributes starting with "on" are listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(name, value);
  node.append(...children.flat(Infinity).filter(Boolean));
  return node;
}

/** Seconds as mm:ss.s */
export function clock(t) {
  if (t === null || t === undefined || Number.isNaN(t)) return "--:--";
  const m = Math.floor(t / 60), s = (t - m * 60).toFixed(1).padStart(4, "0");
  return `${String(m).padStart(2, "0")}:${s}`;
}

/** A taxonomy or cue identifier for people: "provider_bias_challenge" -> "provider bias challenge". */
export function human(label) {
  return label === null || label === undefined ? "neutral" : String(label).replaceAll("_", " ");
}

export function percent(x) {
  return x === null || x === undefined ? "n/a" : `${Math.round(x * 100)}%`;
}

export function number(x, digits = 1) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

export function signed(x, digits = 1) {
  return typeof x === "number" && Number.isFinite(x) ? (x >= 0 ? "+" : "\u2212") + Math.abs(x).toFixed(digits) : "n/a";
}

export const SPEAKER_NAMES = { patient: "Patient (SP)", provider: "Provider", unknown: "Room" };

export function speakerName(speaker) {
  return SPEAKER_NAMES[speaker] || speaker;
}

export function params() {
  return new URLSearchParams(location.search);
}
