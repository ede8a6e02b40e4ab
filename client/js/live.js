// The live view: rolling transcript, flags as they happen, talk share, cues and faculty notes.

import { api, openStream } from "./api.js";
import { authorField, noteForm, renderNotes, verdictControls } from "./annotate.js";
import { describeCue } from "./cues.js";
import { clock, el, groupText, human, params, signed, speakerName } from "./dom.js";
import { revealedMark } from "./plain.js";
import { EncounterModel } from "./model.js";
import { renderTalk } from "./talk.js";
import { TranscriptView } from "./transcript.js";

const encounter = params().get("encounter");
const model = new EncounterModel();
const transcript = new TranscriptView(document.getElementById("transcript"), { follow: true, announcer: document.getElementById("announcer") });
const stateBadge = document.getElementById("state");
let connection = "connecting";

document.getElementById("title").textContent = encounter || "no encounter chosen";
document.getElementById("debrief-link").href = `debrief.html?encounter=${encodeURIComponent(encounter)}`;
document.getElementById("report-link").href = `report.html?encounter=${encodeURIComponent(encounter)}`;

/** Live, a note is about the latest reply or moment (or just the live edge). */
function latestFlags() {
  const moment = model.momentList().at(-1);
  return [moment && model.responseTo(moment.id), moment].filter(Boolean);
}
const notes = noteForm(encounter, { time: () => model.end, around: latestFlags });
document.getElementById("note-tools").append(authorField(), notes.form);

function showState() {
  const state = model.state;
  stateBadge.className = `state ${state}`;
  const words = { waiting: "waiting for stations", live: "live", finished: "finished" }[state];
  stateBadge.textContent = connection === "open" ? words : `${words} (${connection === "retrying" ? "reconnecting\u2026" : connection})`;
}

const flagItems = new Map();  // moment id -> [key, li]: an item is rebuilt only when what it shows changes

/** The provider's first final after the moment, while the reply is still being coded. */
function pendingReply(moment) {
  return model.transcript().find((s) => s.final && s.speaker === "provider" && s.t0 >= moment.t1 - 0.5) || null;
}

function renderFlags() {
  const list = document.getElementById("flags");
  const moments = model.momentList();
  const remarks = model.remarks();
  if (!moments.length && !remarks.length) return list.replaceChildren(el("li", { class: "empty" }, "No racially charged moment flagged yet."));
  list.replaceChildren(...remarks.map(remarkItem), ...moments.map((moment) => {
    const response = model.responseTo(moment.id);
    const pending = response ? null : pendingReply(moment);
    const key = [moment.text, moment.label, moment.responsiveness, response?.id, response?.text, response?.label, pending?.id, pending?.text,
      model.verdict(moment.id)?.id, response && model.verdict(response.id)?.id].join("|");
    const [known, item] = flagItems.get(moment.id) || [];
    if (known === key) return item;
    const fresh = flagItem(moment, response, pending);
    flagItems.set(moment.id, [key, fresh]);
    return fresh;
  }));
}

/** A provider remark coded as a microaggression with no patient moment before it. */
function remarkItem(response) {
  return el("li", { class: "flag-item remark", dataset: { id: response.id } },
    el("div", {}, el("span", { class: "time" }, clock(response.t0)), " ",
      el("span", { class: `tag ${model.group(response)}` }, `${groupText(model.group(response)).split(" ")[0]} remark: ${human(model.label(response))}`), " ",
      el("span", { class: "muted" }, "no moment before it")),
    el("q", {}, response.text),
    verdictControls(encounter, response, model));
}

function flagItem(moment, response, pending) {
  let reply;
  if (response) {
    reply = el("div", { class: "reply" },
      el("span", { class: `tag ${model.group(response)}` }, `${groupText(model.group(response)).split(" ")[0]} reply: ${human(model.label(response))}`), " ",
      el("span", {}, `${model.latency(moment, response).toFixed(1)} s later: \u201c${response.text}\u201d`),
      typeof moment.responsiveness === "number" ? el("span", { class: "muted score" }, ` responsiveness ${signed(moment.responsiveness, 0)}`) : null,
      verdictControls(encounter, response, model));
  } else if (pending) {
    reply = el("div", { class: "reply pending" }, el("span", { class: "tag" }, "reply: coding\u2026"), " ", `\u201c${pending.text}\u201d`);
  } else {
    reply = el("div", { class: "reply muted" }, "Waiting for the provider's reply\u2026");
  }
  return el("li", { class: "flag-item", dataset: { id: moment.id } },
    el("div", {}, el("span", { class: "time" }, clock(moment.t0)), " ",
      el("span", { class: "tag flag moment" }, `\u2691 ${human(model.label(moment))}`), " ",
      el("span", { class: "muted" }, `model ${Math.round(moment.confidence * 100)}% sure`), revealedMark(moment)),
    el("q", {}, moment.text),
    verdictControls(encounter, moment, model),
    reply);
}

/**
 * Cues oldest first, like the transcript; the list keeps the newest in view while you are at its
 * end. Left out: cues that report no event (value 0) and a moment's reply latency, which the flag
 * shows (the same gap also comes as the provider's floor-taking latency, listed once).
 */
function renderCues() {
  const list = document.getElementById("cues");
  const cues = model.cueList().filter((c) => c.value !== 0 && !(c.kind === "response_latency" && c.moment)).slice(-60);
  if (!cues.length) return list.replaceChildren(el("li", { class: "empty" }, "No cues yet."));
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 30;
  list.replaceChildren(...cues.map((cue) => el("li", {},
    el("span", { class: "time" }, clock(cue.t0)), " ", el("strong", {}, human(cue.kind)), " ",
    el("span", { class: "muted" }, speakerName(cue.speaker)), " ", describeCue(cue))));
  if (atEnd) list.scrollTop = list.scrollHeight;
}

const dirty = new Set();
let scheduled = false;
function redraw(event) {  // at most once per frame, and only the parts the new events touch
  dirty.add(event?.type ?? "all");
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const changed = new Set(dirty);
    dirty.clear();
    const has = (...types) => changed.has("all") || types.some((t) => changed.has(t));
    if (has("segment", "moment", "response", "note")) transcript.update(model);
    if (has("segment", "moment", "response", "note")) renderFlags();
    if (has("segment", "metrics")) renderTalk(document.getElementById("talk"), model);
    if (has("cue")) renderCues();
    if (has("note", "moment", "response")) renderNotes(document.getElementById("notes"), model);
    showState();
  });
}

async function stations() {
  try {
    const record = await api(`/api/encounters/${encodeURIComponent(encounter)}`);
    const meta = record.metadata || {};
    document.getElementById("title").textContent = [record.id, record.scenario, meta.participant].filter(Boolean).join(" \u00b7 ");
    const base = new URL("capture.html", location.href);
    document.getElementById("stations").replaceChildren(...["patient", "provider", "room"].map((role) => {
      const url = new URL(base);
      url.search = new URLSearchParams({ encounter: record.id, token: record.join_token, role }).toString();
      return el("li", {}, `${human(role)}: `, el("a", { href: url.href }, el("code", {}, url.href)));
    }));
  } catch (error) {
    document.getElementById("title").textContent = `${encounter}: ${error.message}`;
  }
}

if (encounter) {
  model.onChange(redraw);
  openStream(encounter, (event) => model.add(event), (state) => { connection = state; showState(); });
  stations();
  redraw();
} else {
  stateBadge.textContent = "choose an encounter on the Encounters page";
}
