// The talk panel: a talk-share bar and the other rolling metrics, from `metrics` events (or, until
// one arrives, from the transcript's final segments).

import { clock, el, percent, speakerName, speakerWord } from "./dom.js";
import { metricRows, talkShare } from "./cues.js";

export function renderTalk(container, model) {
  const { share, source } = talkShare(model);
  const speakers = Object.keys(share).filter((s) => share[s] > 0);
  const bar = speakers.length
    ? el("div", { class: "share", role: "img", "aria-label": "Talk share: " + speakers.map((s) => `${speakerName(s)} ${percent(share[s])}`).join(", ") },
      speakers.map((s) => el("span", { class: s, style: { width: `${share[s] * 100}%` }, title: `${speakerName(s)} ${percent(share[s])}` },
        share[s] > 0.12 ? `${speakerWord(s)} ${percent(share[s])}` : "")))
    : el("p", { class: "muted" }, "No speech yet.");
  const rows = metricRows(model);
  container.replaceChildren(
    el("p", { class: "muted talk-caption" },
      source === "metrics" ? `Talk share up to ${clock(model.metrics.t1)}` : "Talk share (from the transcript so far)"),
    bar,
    ...(rows.length ? [el("dl", { class: "metric-list" }, rows.map(([name, text]) => [el("dt", {}, name), el("dd", {}, text)]))] : []));
}
