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

/** Seconds as mm:ss (rounded down), for rulers, lengths and the report. */
export function mmss(t) {
  if (t === null || t === undefined || Number.isNaN(t)) return "--:--";
  const whole = Math.floor(t + 1e-6), m = Math.floor(whole / 60);
  return `${String(m).padStart(2, "0")}:${String(whole - m * 60).padStart(2, "0")}`;
}

/** Unix seconds as a local ISO 8601 date and time: "2026-05-04 14:03". */
export function isoDate(unix, withTime = true) {
  const d = new Date(unix * 1000), two = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  return withTime ? `${day} ${two(d.getHours())}:${two(d.getMinutes())}` : day;
}

/** Focus is where typing goes (a text field, a select): page shortcuts stand aside there. */
export function typingIn(target) {
  return Boolean(target?.closest?.("textarea, select, [contenteditable=''], [contenteditable='true'], " +
    "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=reset]):not([type=range])"));
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

/** The sign every response group carries beside its colour (colour alone tells nobody who cannot see it). */
export const GROUP_MARKS = { responsive: "\u2713", microaggression: "\u2717", neutral: "\u2013" };

/** "✓ responsive", "✗ microaggression", "– neutral" */
export function groupText(group) {
  return `${GROUP_MARKS[group] || GROUP_MARKS.neutral} ${group || "neutral"}`;
}

export const SPEAKER_NAMES = { patient: "Patient (SP)", provider: "Provider", unknown: "Room", room: "Room" };

export function speakerName(speaker) {
  return SPEAKER_NAMES[speaker] || speaker;
}

/** A speaker in a word, for short labels: patient, provider, room. */
export function speakerWord(speaker) {
  return speaker === "unknown" ? "room" : human(speaker);
}

export function params() {
  return new URLSearchParams(location.search);
}

/**
 * Redraw `container` with `render()` and put the focus back where it was: on the control with
 * the same place (its [data-id] ancestor and its index among that ancestor's controls), so a
 * note arriving from another viewer does not throw a keyboard user back to the top.
 */
export function keepFocus(container, render) {
  const active = document.activeElement;
  const owner = container.contains(active) ? active.closest("[data-id]") : null;
  const controls = (root) => [...root.querySelectorAll("button, a[href], input, select, textarea, summary")];
  const index = owner ? controls(owner).indexOf(active) : -1;
  render();
  if (index < 0) return;
  const again = container.querySelector(`[data-id="${CSS.escape(owner.dataset.id)}"]`);
  controls(again || container)[index]?.focus({ preventScroll: true });
}
