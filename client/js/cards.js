// One card per flagged moment: the patient's words, the provider's reply, labels, confidence,
// response latency, the responsiveness score and the change in the provider's voice (a
// `reply_change` cue), with the faculty's verdicts and notes on it. A smaller card for a provider
// turn coded as a microaggression with no moment before it.

import { verdictControls } from "./annotate.js";
import { clock, el, human, percent, signed } from "./dom.js";
import { describeChange, describeMeasure } from "./cues.js";
import { RESPONSIVENESS } from "./taxonomy.js";
import { verdictText } from "./transcript.js";

/** What a confidence means, in one sentence (shown once above the cards). */
export const CONFIDENCE_NOTE = "Confidence is how often the system was right about codes like this one on examples it had not seen: of codes shown at 80%, about 8 in 10 were right.";

export function confidenceNote() {
  return el("p", { class: "muted confidence-note" }, CONFIDENCE_NOTE);
}

/** "+3 strong, immediate positive reaction", or a dash while the provider has not answered. */
export function responsivenessText(score) {
  if (score === null || score === undefined) return "\u2014 (no reply yet)";
  return `${score > 0 ? "+" : score < 0 ? "\u2212" : ""}${Math.abs(score)}: ${RESPONSIVENESS[String(score)]}`;
}

/** `options`: encounter and annotate (show verdict controls), onSeek (time buttons). */
export function momentCard(moment, model, { encounter, onSeek = null, annotate = false } = {}) {
  const response = model.responseTo(moment.id);
  const later = model.laterReplies(moment.id);
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
      el("dt", {}, "Responsiveness"),
      el("dd", { class: "responsiveness" }, responsivenessText(moment.responsiveness)),
      later.length ? [el("dt", {}, "Later replies"), el("dd", {}, later.map((r, i) => [i ? el("br") : null,
        el("span", { class: `tag ${r.group}` }, human(r.label)), ` ${clock(r.t0)}: \u201c${r.text}\u201d`]))] : null,
      el("dt", {}, "Response latency"),
      el("dd", {}, response ? `${signed(response.latency)} s${response.latency < 0 ? " (started before the patient finished)" : ""}` : "\u2014"),
      el("dt", {}, "Prosody change"),
      el("dd", {}, voice.length ? voice.map((line, i) => [i ? el("br") : null, line]) : "none reported"),
      notes.length ? [el("dt", {}, "Faculty"), el("dd", {}, el("ul", { class: "notes" }, notes.map((n) =>
        el("li", {}, n.verdict ? `${n.target === moment.id ? "moment" : "reply"} ${verdictText(n)}` : `${n.author}: ${n.text}`))))] : null),
    annotate ? [el("div", {}, el("strong", { class: "muted" }, "Moment: "), verdictControls(encounter, moment, model)),
      response ? el("div", {}, el("strong", { class: "muted" }, "Reply: "), verdictControls(encounter, response, model)) : null] : null);
}

/** A provider turn that is itself a microaggression, with no moment before it. */
export function remarkCard(response, model, { encounter, onSeek = null, annotate = false } = {}) {
  const time = onSeek
    ? el("button", { type: "button", class: "link time", "aria-label": `Play remark from ${clock(response.t0)}`, onclick: () => onSeek(response.t0) }, `\u25b6 ${clock(response.t0)}`)
    : el("span", { class: "time" }, clock(response.t0));
  return el("article", { class: "card remark", dataset: { id: response.id }, "aria-label": `Provider remark at ${clock(response.t0)}: ${human(response.label)}` },
    el("h3", {}, el("span", { class: `tag ${response.group}` }, human(response.label)), time,
      el("span", { class: "muted" }, `confidence ${percent(response.confidence)}`)),
    el("blockquote", { class: "provider" }, el("strong", {}, "Provider: "), `\u201c${response.text}\u201d`),
    el("p", { class: "muted" }, "No racially charged moment came before this turn: it was coded on its own."),
    annotate ? el("div", {}, el("strong", { class: "muted" }, "Remark: "), verdictControls(encounter, response, model)) : null);
}
