// The live view: rolling transcript, flags as they happen, talk share, cues and faculty notes.

import { api, openStream } from "./api.js";
import { authorField, noteForm, renderNotes, verdictControls } from "./annotate.js";
import { describeCue } from "./cues.js";
import { clock, el, human, params, speakerName } from "./dom.js";
import { EncounterModel } from "./model.js";
import { renderTalk } from "./talk.js";
import { TranscriptView } from "./transcript.js";

const encounter = params().get("encounter");
const model = new EncounterModel();
const transcript = new TranscriptView(document.getElementById("transcript"), { follow: true });
const stateBadge = document.getElementById("state");
let connection = "connecting";

document.getElementById("title").textContent = encounter || "no encounter chosen";
document.getElementById("debrief-link").href = `debrief.html?encounter=${encodeURIComponent(encounter)}`;
document.getElementById("report-link").href = `report.html?encounter=${encodeURIComponent(encounter)}`;
document.getElementById("note-tools").append(authorField(), noteForm(encounter, () => model.end));

function showState() {
  const state = model.state;
  stateBadge.className = `state ${state}`;
  const words = { waiting: "waiting for stations", live: "live", finished: "finished" }[state];
  stateBadge.textContent = connection === "open" ? words : `${words} (${connection === "retrying" ? "reconnecting\u2026" : connection})`;
}

const flagItems = new Map();  // moment id -> [key, li]: an item is rebuilt only when its flag or verdicts change

function renderFlags() {
  const list = document.getElementById("flags");
  const moments = model.momentList();
  const remarks = model.standaloneList();
  if (!moments.length && !remarks.length) return list.replaceChildren(el("li", { class: "empty" }, "No racially charged moment flagged yet."));
  list.replaceChildren(...remarks.map(remarkItem), ...moments.map((moment) => {
    const response = model.responseTo(moment.id);
    const key = [moment.label, moment.responsiveness, response?.id, response?.label, model.verdict(moment.id)?.id, response && model.verdict(response.id)?.id].join("|");
    const [known, item] = flagItems.get(moment.id) || [];
    if (known === key) return item;
    const fresh = flagItem(moment, response);
    flagItems.set(moment.id, [key, fresh]);
    return fresh;
  }));
}

function remarkItem(response) {
  return el("li", { class: "flag-item", dataset: { id: response.id } },
    el("div", {}, el("span", { class: "time" }, clock(response.t0)), " ",
      el("span", { class: `tag ${response.group}` }, `provider: ${human(response.label)}`), " ",
      el("span", { class: "muted" }, `${Math.round(response.confidence * 100)}%, no moment before it`)),
    el("q", {}, response.text),
    verdictControls(encounter, response, model));
}

function flagItem(moment, response) {
  return el("li", { class: "flag-item", dataset: { id: moment.id } },
    el("div", {}, el("span", { class: "time" }, clock(moment.t0)), " ",
      el("span", { class: "tag flag moment" }, `\u2691 ${human(moment.label)}`), " ",
      el("span", { class: "muted" }, `${Math.round(moment.confidence * 100)}%`)),
    el("q", {}, moment.text),
    verdictControls(encounter, moment, model),
    response
      ? el("div", { class: "reply" },
        el("span", { class: `tag ${response.group}` }, `reply: ${human(response.label)}`), " ",
        el("span", {}, `${response.latency.toFixed(1)} s later: \u201c${response.text}\u201d`),
        moment.responsiveness !== null && moment.responsiveness !== undefined
          ? el("span", { class: "muted" }, ` responsiveness ${moment.responsiveness > 0 ? "+" : ""}${moment.responsiveness}`) : null,
        verdictControls(encounter, response, model))
      : el("div", { class: "reply muted" }, "Waiting for the provider's reply\u2026"));
}

function renderCues() {
  const list = document.getElementById("cues");
  const cues = model.cueList().slice(-40).reverse();
  if (!cues.length) return list.replaceChildren(el("li", { class: "empty" }, "No cues yet."));
  list.replaceChildren(...cues.map((cue) => el("li", {},
    el("span", { class: "time" }, clock(cue.t0)), " ", el("strong", {}, human(cue.kind)), " ",
    el("span", { class: "muted" }, speakerName(cue.speaker)), " ", describeCue(cue))));
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
    if (has("moment", "response", "note")) renderFlags();
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
