// The debrief view of an encounter: the player and timeline (sticky), the note form and the
// moment cards beside it (sticky), the transcript following playback, the objectives and
// checklist, voice plots, the summary and every note. Notes and ratings from any viewer arrive
// over the WebSocket and redraw what they touch.

import { api, openStream } from "./api.js";
import { authorField, noteForm, renderNotes, speakerCorrections } from "./annotate.js";
import { momentCard, remarkCard } from "./cards.js";
import { clock, el, keepFocus, mmss, params, typingIn } from "./dom.js";
import { EncounterModel } from "./model.js";
import { ObjectivesForm } from "./objectives.js";
import { loadRecordings, Playback } from "./player.js";
import { renderPlots } from "./plots.js";
import { renderSummary } from "./summary-view.js";
import { renderTalk } from "./talk.js";
import { Timeline } from "./timeline.js";
import { TranscriptView } from "./transcript.js";
import { TimeView } from "./view.js";
import { CONFIDENCE_NOTE } from "./plain.js";

const encounter = params().get("encounter");
const id = encodeURIComponent(encounter);
const model = new EncounterModel();
const view = new TimeView(1);
const media = document.getElementById("playback");
const playback = new Playback(media);
const playButton = document.getElementById("play");
const clockText = document.getElementById("clock");
const playerStatus = document.getElementById("player-status");
let ready = false;  // the recording is loaded
let looping = null;  // the moment whose exchange is looping
let objectives = null;

document.getElementById("live-link").href = `live.html?encounter=${id}`;
document.getElementById("report-link").href = `report.html?encounter=${id}`;

const now = () => playback.time;

function seek(t) {
  if (!ready) return;
  playback.seek(t);
  view.reveal(t);
}

const timeline = new Timeline(document.getElementById("timeline"), { model, view, onSeek: seek });
const speakerStatus = el("span", { class: "save-status", role: "status" });
const corrections = speakerCorrections(encounter, speakerStatus);
document.getElementById("transcript-h").after(el("p", { class: "speaker-corrections" }, corrections.swapButton, " ", speakerStatus));
const transcript = new TranscriptView(document.getElementById("transcript"), { onSeek: seek, onReassign: corrections.reassign });

/** The events a note could be about at time t: the reply, the moment, the transcript line. */
function around(t) {
  const at = (e) => e.t0 - 0.3 <= t && t <= e.t1 + 0.3;
  return [...model.responseList().filter(at), ...model.momentList().filter(at), ...model.transcript().filter((s) => s.final && at(s))];
}

const notes = noteForm(encounter, { time: now, around });

const actions = {
  encounter,
  onSeek: seek,
  playExchange(moment) {
    if (!ready) return;
    const { t0, t1 } = model.exchange(moment);
    looping = null;
    view.reveal(t0);
    playback.playRange(t0, t1, false);
  },
  toggleLoop(moment) {
    if (!ready) return;
    if (looping === moment.id) {
      looping = null;
      playback.setLoop(false);  // this pass plays to the end of the reply, then stops
    } else {
      const { t0, t1 } = model.exchange(moment);
      looping = moment.id;
      view.reveal(t0);
      playback.playRange(t0, t1, true);
    }
    drawCards();
  },
  noteOn(event) {
    notes.pin(event);
  },
};

function showTime() {
  const t = now();
  clockText.textContent = clock(t);
  if (playback.playing) view.reveal(t, 0.05);
  timeline.playhead(t);
  transcript.highlight(t);
}

function showView() {
  document.getElementById("zoom-span").textContent = `showing ${mmss(view.start)}\u2013${mmss(view.end)}`;
  drawPlots();
}

let plotsScheduled = false;
function drawPlots() {
  if (plotsScheduled) return;
  plotsScheduled = true;
  requestAnimationFrame(() => {
    plotsScheduled = false;
    renderPlots(document.getElementById("plots"), model, view, seek);
  });
}

function flagTimes() {
  return [...model.momentList(), ...model.responseList()].map((f) => f.t0).sort((a, b) => a - b);
}

function jumpFlag(direction) {
  const t = now(), times = flagTimes();
  const target = direction > 0 ? times.find((x) => x > t + 0.2) : times.reverse().find((x) => x < t - 0.5);
  if (target !== undefined) seek(target);
}

/** The moment being heard, else the next one: what E plays and L loops. */
function currentMoment() {
  const t = now(), moments = model.momentList();
  return moments.find((m) => { const x = model.exchange(m); return x.t0 <= t && t <= x.t1; }) || moments.find((m) => m.t0 >= t) || moments[0];
}

function drawCards() {
  const cards = document.getElementById("cards");
  const items = [...model.momentList().map((m) => [m.t0, () => momentCard(m, model, actions, looping)]),
    ...model.remarks().map((r) => [r.t0, () => remarkCard(r, model, actions)])].sort((a, b) => a[0] - b[0]);
  keepFocus(cards, () => cards.replaceChildren(...(items.length
    ? [el("p", { class: "muted confidence-note" }, CONFIDENCE_NOTE), ...items.map(([, card]) => card())]
    : [el("p", { class: "muted" }, "No racially charged moment was flagged.")])));
}

function describeRoom(record) {
  const roles = record.tracks.map((t) => t.role);
  const room = roles.length === 1 && (roles[0] === "room" || roles[0] === "unknown");
  const note = document.getElementById("room-note"), head = document.getElementById("columns-head");
  if (!room) return;
  const diarized = model.speakers().some((s) => s !== "unknown");
  note.hidden = false;
  note.replaceChildren(el("strong", {}, "One room track: "),
    diarized ? "both people on one microphone; the speakers are as diarized from their voices, so a line may be attributed to the wrong person. "
      : "both people on one microphone, not told apart: every line is shown as Room, and cues that need to know who spoke are not available. ",
    el("span", { id: "speaker-corrections" }, diarized
      ? "Wrong speaker? Give a line to the other person with its \u21c4 button in the transcript, or swap the two roles there."
      : "To say who spoke a line, use its \u21c4 button in the transcript."));
  head.replaceChildren(...(diarized ? [el("span", { class: "patient" }, "Patient (SP), as diarized"), el("span", { class: "provider" }, "Provider, as diarized")]
    : [el("span", { class: "room" }, "Room (one microphone)")]));
}

let record = null;
let scheduled = false;
function redraw() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    transcript.update(model);
    timeline.schedule();
    drawCards();
    renderTalk(document.getElementById("talk"), model);
    keepFocus(document.getElementById("notes"), () => renderNotes(document.getElementById("notes"), model, seek));
    objectives?.update(model);
    drawPlots();
    if (record) describeRoom(record);
    const flags = flagTimes().length > 0 && ready;
    document.getElementById("prev-flag").disabled = document.getElementById("next-flag").disabled = !flags;
    const state = document.getElementById("state");
    const shown = record?.finished_at ? "finished" : model.state;  // finished without a status event: imported, or by the store
    state.className = `state ${shown}`;
    state.textContent = shown === "finished" ? "finished" : shown === "live" ? "still live" : "not started";
  });
}

async function loadPlayer() {
  if (!record.tracks.length) {
    playerStatus.textContent = "No recording: no station joined this encounter.";
    return;
  }
  let recording;
  try {
    recording = await loadRecordings(media, encounter, record.tracks);
  } catch (error) {
    playerStatus.textContent = `Cannot play the recording: ${error.message}`;
    return;
  }
  ready = true;
  view.setDuration(recording.duration);
  timeline.setRecording(recording);
  const names = recording.roles.map((r) => (r === "unknown" ? "room" : r));
  playerStatus.textContent = `${mmss(recording.duration)} recorded (${names.join(" + ")}${names.length > 1 ? ", mixed for playback" : ""})`;
  playButton.disabled = false;
  for (const button of ["zoom-in", "zoom-out", "zoom-whole"]) document.getElementById(button).disabled = false;
  redraw();
}

playback.on("time", showTime);
playback.on("state", () => {
  playButton.textContent = playback.playing ? "Pause" : "Play";
  if (!playback.range && looping) { looping = null; drawCards(); }
});
view.onChange(showView);
playButton.addEventListener("click", () => playback.toggle());
document.getElementById("speed").addEventListener("change", (e) => { media.playbackRate = Number(e.target.value); });
document.getElementById("prev-flag").addEventListener("click", () => jumpFlag(-1));
document.getElementById("next-flag").addEventListener("click", () => jumpFlag(1));
document.getElementById("zoom-in").addEventListener("click", () => view.zoom(0.5, now()));
document.getElementById("zoom-out").addEventListener("click", () => view.zoom(2, now()));
document.getElementById("zoom-whole").addEventListener("click", () => view.whole());

/** Page shortcuts: everywhere but text fields (a focused button or lane item included). */
const KEYS = {
  " ": () => playback.toggle(),
  k: () => playback.toggle(),
  ArrowLeft: (e) => (e.shiftKey ? view.pan(-view.span / 3) : seek(now() - 5)),
  ArrowRight: (e) => (e.shiftKey ? view.pan(view.span / 3) : seek(now() + 5)),
  "[": () => jumpFlag(-1),
  "]": () => jumpFlag(1),
  "+": () => view.zoom(0.5, now()),
  "=": () => view.zoom(0.5, now()),
  "-": () => view.zoom(2, now()),
  0: () => view.whole(),
  e: () => { const m = currentMoment(); if (m) actions.playExchange(m); },
  l: () => { const m = currentMoment(); if (m) actions.toggleLoop(m); },
  n: () => notes.focus(),
};
document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
  const choice = e.target.closest?.("input[type=checkbox], input[type=radio]");
  if (choice && (e.key === " " || (choice.type === "radio" && e.key.startsWith("Arrow")))) return;  // the control's own keys
  if (/^[1-9]$/.test(e.key)) { notes.toggleTag(Number(e.key) - 1); return; }
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const action = KEYS[e.key] || KEYS[key];
  if (!action || !ready && key !== "n") return;
  e.preventDefault();
  action(e);
});
// Space on a focused button would click it on key-up as well: the shortcut has already acted.
document.addEventListener("keyup", (e) => {
  if (e.key === " " && !typingIn(e.target) && e.target.closest?.("button, a, summary")) e.preventDefault();
});

async function main() {
  if (!encounter) {
    playerStatus.textContent = "Choose an encounter on the Encounters page.";
    return;
  }
  document.getElementById("note-tools").append(authorField(), notes.form);
  let events;
  try {
    [record, events] = await Promise.all([api(`/api/encounters/${id}`), api(`/api/encounters/${id}/events`)]);
  } catch (error) {
    document.getElementById("title").textContent = `${encounter}: ${error.message}`;
    playerStatus.textContent = "";
    return;
  }
  const meta = record.metadata || {};
  document.getElementById("title").textContent = [record.id, record.scenario, meta.participant].filter(Boolean).join(" \u00b7 ");
  document.title = `Debrief ${record.id}`;
  for (const event of events) model.add(event);
  view.setDuration(Math.max(0, ...record.tracks.map((t) => t.duration || 0)) || model.end);
  showView();
  model.onChange(redraw);
  model.onChange((event) => { if (["segment", "moment", "response", "assessment"].includes(event.type)) refreshSummary(); });
  redraw();
  const last = events.length ? events[events.length - 1].seq : 0;
  openStream(encounter, (event) => model.add(event), () => {}, last);
  await Promise.all([loadSummary(), loadPlayer()]);
}

let summaryTimer = null;
/** The summary again, a moment after the events it counts changed (a revision, a rating). */
function refreshSummary() {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(loadSummary, 1500);
}

async function loadSummary() {
  let summary;
  try {
    summary = await api(`/api/encounters/${id}/summary`);
  } catch (error) {
    document.getElementById("summary").textContent = `No summary: ${error.message}`;
    if (!objectives) document.getElementById("objectives").textContent = `No objectives: ${error.message}`;
    return;
  }
  renderSummary(document.getElementById("summary"), summary, model);
  if (!objectives) {
    objectives = new ObjectivesForm(document.getElementById("objectives"), { encounter, items: summary.objectives, model, time: now });
  }
}

main();
