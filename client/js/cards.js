// One card per flagged moment (and per provider remark coded with no moment before it): the
// patient's words and the provider's reply as the transcript now reads, what the reply was in
// words, its responsiveness score, timing and voice in plain words (the numbers behind them one
// click away), the faculty's notes and verdicts, and the controls to play the exchange, loop it,
// and write a note on the moment or the reply.

import { verdictControls, noteWords } from "./annotate.js";
import { clock, el, groupText, human, number, percent, signed } from "./dom.js";
import { describeChange } from "./cues.js";
import { CONFIDENCE_NOTE, deliveryWords, replyWords, revealedMark, scoreWords } from "./plain.js";
import { verdictText } from "./transcript.js";

/**
 * `actions`: {encounter, onSeek(t), playExchange(moment), toggleLoop(moment), noteOn(event)}.
 * The loop button is pressed while `looping` (the moment id whose exchange loops now) is this one.
 */
export function momentCard(moment, model, actions, looping = null) {
  const response = model.responseTo(moment.id);
  const { onSeek } = actions;
  const timeButton = (event, what) => el("button", { type: "button", class: "link time", "aria-label": `Play ${what} from ${clock(event.t0)}`,
    onclick: () => onSeek(event.t0) }, `\u25b6 ${clock(event.t0)}`);
  const looped = looping === moment.id;
  return el("article", { class: `card${model.rejected(moment) ? " rejected" : ""} ${response ? model.group(response) : "unanswered"}`, dataset: { id: moment.id },
    "aria-labelledby": `card-${moment.id}-h` },
    el("h3", { id: `card-${moment.id}-h` }, el("span", { class: "tag flag moment" }, `\u2691 ${human(model.label(moment))}`),
      timeButton(moment, "the moment"), el("span", { class: "muted", title: CONFIDENCE_NOTE }, `model ${percent(moment.confidence)} sure`),
      revealedMark(moment)),
    el("div", { class: "exchange" },
      el("button", { type: "button", class: "primary play-exchange", onclick: () => actions.playExchange(moment),
        title: "From a few seconds before the patient's line to the end of the reply, then stop" }, "\u25b6 Play exchange"),
      el("button", { type: "button", class: "loop-exchange", "aria-pressed": String(looped), onclick: () => actions.toggleLoop(moment) },
        "\u27f2 Loop")),
    quote("patient", "Patient", moment, model),
    response ? quote("provider", "Provider", response, model, timeButton(response, "the reply"))
      : el("blockquote", { class: "provider muted" }, "No provider reply coded."),
    facts(moment, response, model, actions),
    faculty(model, ...model.exchangeFlags(moment)),
    el("div", { class: "card-actions" },
      el("button", { type: "button", class: "note-on", onclick: () => actions.noteOn(moment) }, "\u270e Note on moment"),
      response ? el("button", { type: "button", class: "note-on reply", onclick: () => actions.noteOn(response) }, "\u270e Note on reply") : null),
    verdictControls(actions.encounter, moment, model),
    response ? verdictControls(actions.encounter, response, model) : null);
}

/** A provider remark coded as a microaggression with no patient moment before it. */
export function remarkCard(response, model, actions) {
  const group = model.group(response);
  return el("article", { class: `card remark ${group}`, dataset: { id: response.id }, "aria-labelledby": `card-${response.id}-h` },
    el("h3", { id: `card-${response.id}-h` }, el("span", { class: `tag ${group}` }, `${groupText(group)}: ${human(model.label(response))}`),
      el("button", { type: "button", class: "link time", "aria-label": `Play the remark from ${clock(response.t0)}`, onclick: () => actions.onSeek(response.t0) },
        `\u25b6 ${clock(response.t0)}`)),
    quote("provider", "Provider", response, model),
    el("p", {}, replyWords(response, model.label(response))),
    faculty(model, response),
    el("div", { class: "card-actions" },
      el("button", { type: "button", class: "note-on reply", onclick: () => actions.noteOn(response) }, "\u270e Note on remark")),
    verdictControls(actions.encounter, response, model));
}

function quote(cls, who, flag, model, extra = null) {
  return el("blockquote", { class: cls }, el("strong", {}, `${who}: `), `\u201c${flag.text}\u201d`,
    flag.revised ? el("span", { class: "tag muted", title: "the transcript was revised after this was coded" }, "revised") : null,
    extra ? [" ", extra] : null,
    model.rejected(flag) ? el("span", { class: "tag verdict reject" }, "rejected") : null);
}

function facts(moment, response, model, actions) {
  if (!response) return el("dl", {}, el("dt", {}, "Reply"), el("dd", {}, "\u2014"));
  const { change, measures } = model.replyCues(moment, response);
  const latency = model.latency(moment, response);
  const delivery = deliveryWords(latency, measures, change);
  const score = scoreWords(moment.responsiveness);
  const later = model.laterReplies(moment.id);
  const numbers = [
    `latency ${signed(latency)} s (end of the patient's turn to the start of the reply)`,
    ...measures.map((c) => c.value === null || c.value === undefined ? `${human(c.kind)}: ${c.reason || "not measured"}`
      : `${human(c.kind)} ${number(c.value)} ${c.unit}${typeof c.z === "number" ? ` (${signed(c.z)} SD from the provider's usual)` : c.reason ? ` (${c.reason})` : ""}`),
    change ? `voice change: ${describeChange(change) || "reported"}` : null,
  ].filter(Boolean);
  return el("dl", {},
    el("dt", {}, "Reply"),
    el("dd", {}, el("span", { class: `tag ${model.group(response)}` }, groupText(model.group(response))), " ", replyWords(response, model.label(response))),
    score ? [el("dt", {}, "Responsiveness"), el("dd", { class: "score" }, score)] : null,
    later.length ? [el("dt", {}, "Later"), el("dd", {}, later.map((r) => el("p", { class: "later" },
      el("span", { class: `tag ${model.group(r)}` }, `${groupText(model.group(r)).split(" ")[0]} ${human(model.label(r))}`), " ",
      el("button", { type: "button", class: "link time", "aria-label": `Play the later reply from ${clock(r.t0)}`, onclick: () => actions.onSeek(r.t0) }, clock(r.t0)),
      ` \u201c${r.text}\u201d`)))] : null,
    el("dt", {}, "Delivery"),
    el("dd", {}, delivery || "\u2014", el("details", { class: "numbers" }, el("summary", {}, "numbers"), el("ul", {}, numbers.map((n) => el("li", {}, n))))));
}

/** The faculty's notes and verdicts on the moment, its reply and their transcript lines. */
function faculty(model, ...flags) {
  const notes = model.notesOn(...flags);
  const verdicts = flags.filter(Boolean).map((f) => [f, model.verdict(f.id)]).filter(([, v]) => v);
  if (!notes.length && !verdicts.length) return null;
  return el("div", { class: "faculty" }, el("strong", {}, "Faculty: "), el("ul", { class: "notes" },
    verdicts.map(([f, v]) => el("li", { class: "verdict" }, `${f.type === "moment" ? "moment" : "reply"} ${verdictText(v)}${v.text ? ` \u2014 ${v.text}` : ""}`)),
    notes.map((n) => el("li", { class: "note", dataset: { id: n.id } }, el("span", { class: "on" }, on(model, n, flags)), `${noteWords(n)} \u2014 ${n.author}`))));
}

function on(model, note, flags) {
  const target = model.target(note);
  if (!target) return "";
  if (target.type === "moment") return "moment: ";
  if (target.type === "response") return flags[0]?.type === "response" ? "" : "reply: ";
  return `line ${clock(target.t0)}: `;
}
