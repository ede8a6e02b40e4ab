// One card per flagged moment: the patient's words, the provider's reply, labels, confidence,
// response latency and the change in the provider's voice (a `reply_change` cue), with the
// faculty's verdicts and notes on it.

import { verdictControls } from "./annotate.js";
import { clock, el, human, percent, signed } from "./dom.js";
import { describeChange, describeMeasure } from "./cues.js";
import { verdictText } from "./transcript.js";

/** `options`: encounter and annotate (show verdict controls), onSeek (time buttons). */
export function momentCard(moment, model, { encounter, onSeek = null, annotate = false } = {}) {
  const response = model.responseTo(moment.id);
  const { change, measures } = model.replyCues(moment, response);
  const voice = [change ? describeChange(change) || "reported" : null, ...measures.map(describeMeasure)].filter(Boolean);
  const time = onSeek
    ? el("button", { type: "button", class: "link time", "aria-label": `Play moment from ${clock(moment.t0)}`, onclick: () => onSeek(moment.t0) }, `\u25b6 ${clock(moment.t0)}`)
    : el("span", { class: "time" }, clock(moment.t0));
  const notes = model.noteList().filter((n) => (n.target === moment.id || n.target === response?.id) && (n.text || n.verdict));
  return el("article", { class: "card", dataset: { id: moment.id }, "aria-label": `Moment at ${clock(moment.t0)}: ${human(moment.label)}` },
    el("h3", {}, el("span", { class: "tag flag moment" }, `\u2691 ${human(moment.label)}`), time,
      el("span", { class: "muted" }, `confidence ${percent(moment.confidence)}`)),
    el("blockquote", { class: "patient" }, el("strong", {}, "Patient: "), `\u201c${moment.text}\u201d`),
    response
      ? el("blockquote", { class: "provider" }, el("strong", {}, "Provider: "), `\u201c${response.text}\u201d`,
        onSeek ? [" ", el("button", { type: "button", class: "link", "aria-label": `Play reply from ${clock(response.t0)}`, onclick: () => onSeek(response.t0) }, `\u25b6 ${clock(response.t0)}`)] : null)
      : el("blockquote", { class: "provider muted" }, "No provider reply coded."),
    el("dl", {},
      el("dt", {}, "Reply"),
      el("dd", {}, response ? [el("span", { class: `tag ${response.group}` }, human(response.label)), ` ${response.group}, confidence ${percent(response.confidence)}`] : "\u2014"),
      el("dt", {}, "Response latency"),
      el("dd", {}, response ? `${signed(response.latency)} s${response.latency < 0 ? " (started before the patient finished)" : ""}` : "\u2014"),
      el("dt", {}, "Prosody change"),
      el("dd", {}, voice.length ? voice.map((line, i) => [i ? el("br") : null, line]) : "none reported"),
      notes.length ? [el("dt", {}, "Faculty"), el("dd", {}, el("ul", { class: "notes" }, notes.map((n) =>
        el("li", {}, n.verdict ? `${n.target === moment.id ? "moment" : "reply"} ${verdictText(n)}` : `${n.author}: ${n.text}`))))] : null),
    annotate ? [el("div", {}, el("strong", { class: "muted" }, "Moment: "), verdictControls(encounter, moment, model)),
      response ? el("div", {}, el("strong", { class: "muted" }, "Reply: "), verdictControls(encounter, response, model)) : null] : null);
}
