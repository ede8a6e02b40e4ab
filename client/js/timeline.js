// Timeline lanes under the waveform: speakers, moments, responses, cues and notes on the
// encounter clock. Every item is a button that seeks the recording to its start (with `onSeek`);
// the report draws the same lanes without buttons.

import { clock, el, human, speakerName } from "./dom.js";
import { describeCue } from "./cues.js";

/** `duration`: the recording's length, so lanes line up with the waveform (later events sit at the end). */
export function renderLanes(container, model, duration, onSeek = null) {
  const span = duration > 0 ? duration : Math.max(model.end, 1);
  const at = (t) => Math.min(Math.max(t / span, 0), 1) * 100;
  const segments = model.transcript().filter((s) => s.final);
  const speakers = ["patient", "provider", "unknown"].filter((s) => segments.some((x) => x.speaker === s));
  const lanes = [
    ...speakers.map((s) => [speakerName(s), segments.filter((x) => x.speaker === s).map((x) => item(x, s, x.text))]),
    ["Moments", model.momentList().map((m) => item(m, `moment${rejected(model, m)}`, human(relabel(model, m))))],
    ["Responses", [...model.responses.values()].map((r) => item(r, `response ${r.group}${rejected(model, r)}`, human(relabel(model, r))))],
    // prosody cues (one per utterance) are drawn in the plots; every other kind, known or not, goes here
    ["Cues", model.cueList().filter((c) => c.kind !== "prosody").map((c) => item(c, "cue", `${human(c.kind)} ${describeCue(c)}`.trim(), human(c.kind)))],
    ["Notes", model.noteList().filter((n) => !n.verdict).map((n) => item(n, "note", n.text || "bookmark"))],
  ];
  container.replaceChildren(...lanes.flatMap(([name, items]) => [
    el("div", { class: "lane-name" }, name),
    el("div", { class: "lane", role: "group", "aria-label": `${name} lane` }, items.map(([event, cls, text, short]) => {
      const style = { left: `${at(event.t0)}%`, width: `${at(event.t1) - at(event.t0)}%` };
      const label = `${name}: ${text} at ${clock(event.t0)}`;
      const attrs = { class: `item ${cls}`, style, title: label, dataset: { id: event.id, t0: event.t0 } };
      return onSeek
        ? el("button", { ...attrs, type: "button", "aria-label": label, onclick: () => onSeek(event.t0) }, short ?? "")
        : el("span", attrs, short ?? "");
    }), el("div", { class: "playhead", "aria-hidden": "true", style: { left: "0%" } })),
  ]));
}

function item(event, cls, text, short) {
  return [event, cls, text, short ?? (cls.startsWith("moment") || cls.startsWith("response") ? text : "")];
}

function rejected(model, flag) {
  return model.verdict(flag.id)?.verdict === "reject" ? " rejected" : "";
}

function relabel(model, flag) {
  const verdict = model.verdict(flag.id);
  return verdict?.verdict === "relabel" ? verdict.label : flag.label;
}

export function movePlayhead(container, time, duration) {
  for (const head of container.querySelectorAll(".playhead")) head.style.left = `${(time / Math.max(duration, 1)) * 100}%`;
}
