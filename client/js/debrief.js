// The debrief view of an encounter: the recording with flags, timeline lanes, the transcript
// following playback, one card per moment, voice plots, the summary and faculty notes. Notes from
// any viewer arrive over the WebSocket and redraw what they touch.

import { api, openStream } from "./api.js";
import { authorField, noteForm, renderNotes, speakerCorrections } from "./annotate.js";
import { confidenceNote, momentCard, remarkCard } from "./cards.js";
import { clock, el, human, params } from "./dom.js";
import { EncounterModel } from "./model.js";
import { createPlayer } from "./player.js";
import { renderPlots } from "./plots.js";
import { renderSummary } from "./summary-view.js";
import { renderTalk } from "./talk.js";
import { movePlayhead, renderLanes } from "./timeline.js";
import { TranscriptView } from "./transcript.js";

const encounter = params().get("encounter");
const id = encodeURIComponent(encounter);
const model = new EncounterModel();
const media = document.getElementById("playback");
const lanes = document.getElementById("lanes");
const playButton = document.getElementById("play");
const clockText = document.getElementById("clock");
const playerStatus = document.getElementById("player-status");
let player = null;
let duration = 0;

document.getElementById("live-link").href = `live.html?encounter=${id}`;
document.getElementById("report-link").href = `report.html?encounter=${id}`;

function now() {
  return player ? player.wavesurfer.getCurrentTime() : 0;
}

function seek(t) {
  if (!player) return;
  player.wavesurfer.setTime(Math.max(0, Math.min(t, player.duration)));
  showTime(now());
}

const speakerStatus = el("span", { class: "save-status", role: "status" });
const corrections = speakerCorrections(encounter, speakerStatus);
document.getElementById("transcript-h").after(el("p", { class: "speaker-corrections" }, corrections.swapButton, " ", speakerStatus));
const transcript = new TranscriptView(document.getElementById("transcript"), { onSeek: seek, onReassign: corrections.reassign });

function showTime(t) {
  clockText.textContent = clock(t);
  movePlayhead(lanes, t, duration);
  transcript.highlight(t);
}

function flagTimes() {
  return [...model.moments.values(), ...model.responses.values()].map((f) => f.t0).sort((a, b) => a - b);
}

function drawRegions() {
  if (!player) return;
  player.regions.clearRegions();
  const row = (speaker) => Math.max(0, player.roles.indexOf(speaker === "unknown" ? "room" : speaker));
  for (const moment of model.moments.values()) {
    player.regions.addRegion({ id: moment.id, start: moment.t0, end: moment.t1, drag: false, resize: false,
      color: "rgba(230, 140, 20, 0.28)", content: `\u2691 ${human(moment.label)}`, channelIdx: row(moment.speaker) });
  }
  for (const response of model.responses.values()) {
    const color = { responsive: "rgba(29, 107, 52, 0.25)", microaggression: "rgba(163, 22, 33, 0.25)" }[response.group] || "rgba(80, 80, 80, 0.2)";
    player.regions.addRegion({ id: response.id, start: response.t0, end: response.t1, drag: false, resize: false,
      color, content: `reply: ${human(response.label)}`, channelIdx: row(response.speaker) });
  }
  for (const note of model.noteList().filter((n) => !n.verdict)) {
    player.regions.addRegion({ id: note.id, start: note.t0, drag: false, resize: false, color: "#4b2e83", content: "\u270e" });
  }
}

let scheduled = false;
function redraw() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    transcript.update(model);
    renderLanes(lanes, model, duration, seek);
    movePlayhead(lanes, now(), duration);
    const moments = model.momentList();
    const remarks = model.standaloneList();
    document.getElementById("cards").replaceChildren(...(moments.length || remarks.length
      ? [confidenceNote(), ...moments.map((m) => momentCard(m, model, { encounter, onSeek: seek, annotate: true })),
        ...remarks.map((r) => remarkCard(r, model, { encounter, onSeek: seek, annotate: true }))]
      : [el("p", { class: "muted" }, "No racially charged moment was flagged.")]));
    renderTalk(document.getElementById("talk"), model);
    renderPlots(document.getElementById("plots"), model, duration, seek);
    renderNotes(document.getElementById("notes"), model, seek);
    drawRegions();
    const state = document.getElementById("state");
    state.className = `state ${model.state}`;
    state.textContent = model.state === "finished" ? "finished" : model.state === "live" ? "still live" : "not started";
  });
}

async function loadPlayer(record) {
  if (!record.tracks.length) {
    playerStatus.textContent = "No recording: no station joined this encounter.";
    return;
  }
  try {
    player = await createPlayer(document.getElementById("waveform"), media, encounter, record.tracks);
  } catch (error) {
    playerStatus.textContent = `Cannot play the recording: ${error.message}`;
    return;
  }
  duration = player.duration;  // lanes and plots on the waveform's scale
  document.getElementById("wave-labels").replaceChildren(...player.roles.map((role) => el("span", { class: role }, human(role))));
  document.getElementById("wave-labels").style.gridTemplateRows = `repeat(${player.roles.length}, 64px)`;
  playerStatus.textContent = `${clock(player.duration)} recorded (${player.roles.map(human).join(" + ")}, mixed for playback)`;
  const ws = player.wavesurfer;
  ws.on("timeupdate", showTime);
  ws.on("play", () => { playButton.textContent = "Pause"; });
  ws.on("pause", () => { playButton.textContent = "Play"; });
  player.regions.on("region-clicked", (region, event) => { event.stopPropagation(); seek(region.start); });
  playButton.disabled = false;
  document.getElementById("prev-flag").disabled = document.getElementById("next-flag").disabled = false;
  redraw();
}

playButton.addEventListener("click", () => player?.wavesurfer.playPause());
document.getElementById("speed").addEventListener("change", (e) => player?.wavesurfer.setPlaybackRate(Number(e.target.value)));
const jumpFlag = (direction) => {
  const t = now(), times = flagTimes();
  const target = direction > 0 ? times.find((x) => x > t + 0.2) : times.reverse().find((x) => x < t - 0.5);
  if (target !== undefined) seek(target);
};
document.getElementById("prev-flag").addEventListener("click", () => jumpFlag(-1));
document.getElementById("next-flag").addEventListener("click", () => jumpFlag(1));
document.addEventListener("keydown", (e) => {
  if (!player || e.ctrlKey || e.metaKey || e.altKey || e.target.closest("input, textarea, select, button, a")) return;
  if (e.key === " " || e.key === "k") { e.preventDefault(); player.wavesurfer.playPause(); }
  else if (e.key === "ArrowLeft") { e.preventDefault(); seek(now() - 5); }
  else if (e.key === "ArrowRight") { e.preventDefault(); seek(now() + 5); }
  else if (e.key === "[") jumpFlag(-1);
  else if (e.key === "]") jumpFlag(1);
});

async function main() {
  if (!encounter) {
    playerStatus.textContent = "Choose an encounter on the Encounters page.";
    return;
  }
  document.getElementById("note-tools").append(authorField(), noteForm(encounter, now));
  let record, events;
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
  duration = Math.max(0, ...record.tracks.map((t) => t.duration || 0)) || model.end;
  model.onChange(redraw);
  redraw();
  const last = events.length ? events[events.length - 1].seq : 0;
  openStream(encounter, (event) => model.add(event), () => {}, last);
  api(`/api/encounters/${id}/summary`)
    .then((summary) => renderSummary(document.getElementById("summary"), summary, model))
    .catch((error) => { document.getElementById("summary").textContent = `No summary: ${error.message}`; });
  await loadPlayer(record);
}

main();
