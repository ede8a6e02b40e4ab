// Cue and metrics events in words, for any kind: known kinds get a tailored line, others a generic one.

import { human, number, percent, signed, speakerWord } from "./dom.js";
import { REPLY_MEASURES } from "./taxonomy.js";

const CHIP_NAMES = {
  long_pause: "silence", backchannel: "back-channel", opening_interruption: "opening cut off",
  interrupted_disclosure: "interrupted", reply_change: "voice change",
};

/** A cue's few words on a timeline chip: "silence 3.2 s", "interruption", "interrupted ×2". */
export function cueChipText(cue) {
  const name = CHIP_NAMES[cue.kind] || human(cue.kind);
  if (cue.unit === "count" && typeof cue.value === "number") return `${name} \u00d7${cue.value}`;
  if (cue.kind === "long_pause" && typeof cue.value === "number") return `${name} ${number(cue.value)} s`;
  return name;
}

/** Whether a cue reports something that happened: not a count of 0 (no interruption), not a cue
 * that could not be measured. Only these are drawn or tallied. */
export function reportsEvent(cue) {
  return cue.value !== 0 && !(cue.value === null && cue.reason);
}

/**
 * Whether a cue gets a chip in the Cues lane. Not drawn there: prosody (plotted), response
 * latencies (one tick each in the gaps lane), the measures of a moment's reply (on its card),
 * cues that report no event (a count of 0: no interruption) and cues that could not be measured.
 */
export function chipCue(cue) {
  if (cue.kind === "prosody" || cue.kind === "response_latency" || cue.kind === "reply_change") return false;
  if (cue.moment && REPLY_MEASURES.includes(cue.kind)) return false;
  return reportsEvent(cue);
}

/** "pitch 21.3 st · 62 dB · 4.1 syll/s" for prosody; "value unit (baseline b)" plus detail for others. */
export function describeCue(cue) {
  const d = cue.detail || {};
  if (cue.kind === "prosody") {
    const parts = [`pitch ${number(cue.value)} ${cue.unit || "st"}`];
    if (d.loudness_db !== undefined) parts.push(`${number(d.loudness_db, 0)} dB`);
    if (d.speech_rate !== undefined) parts.push(`${number(d.speech_rate)} syll/s`);
    return parts.join(" \u00b7 ");
  }
  const parts = [];
  if (cue.value !== null && cue.value !== undefined) parts.push(`${number(cue.value, cue.unit === "s" ? 2 : cue.unit === "count" ? 0 : 1)} ${cue.unit || ""}`.trim());
  if (cue.baseline !== null && cue.baseline !== undefined) parts.push(`baseline ${number(cue.baseline)}`);
  if (typeof cue.z === "number") parts.push(`z ${signed(cue.z)}`);
  if (cue.other) parts.push(`with ${human(cue.other)}`);
  if (cue.reason) parts.push(cue.reason);
  for (const [key, value] of Object.entries(d)) parts.push(`${human(key)} ${detailValue(value)}`);
  return parts.join(" \u00b7 ");
}

function detailValue(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : number(value, 2);
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${human(k)} ${detailValue(v)}`).join(", ");
  return human(value);
}


/** The changes a reply_change cue reports, as short phrases: "pitch +2.1 st", "loudness -3.0 dB". */
export function describeChange(cue) {
  const d = cue.detail || {};
  const phrases = [];
  for (const [key, value] of Object.entries(d)) {
    if (typeof value !== "number") continue;
    const unit = key.endsWith("_st") || key.includes("pitch") || key.includes("f0") ? " st" : key.endsWith("_db") || key.includes("loud") ? " dB" : key.includes("rate") ? " syll/s" : "";
    phrases.push(`${human(key.replace(/_(st|db)$/, ""))} ${signed(value)}${unit}`);
  }
  if (!phrases.length && cue.value !== null && cue.value !== undefined) phrases.push(`${signed(cue.value)} ${cue.unit || ""}`.trim());
  return phrases.join(", ");
}

/** Talk share {speaker: fraction} from a metrics event, else from the final segments' durations. */
export function talkShare(model) {
  const share = model.metricValues().talk_share;
  if (share && typeof share === "object") {
    const total = Object.values(share).reduce((a, b) => a + (b || 0), 0);
    const scale = total > 1.5 ? 100 : 1;  // percentages or fractions
    return { share: Object.fromEntries(Object.entries(share).map(([k, v]) => [k, (v || 0) / scale])), source: "metrics" };
  }
  const time = {};
  for (const s of model.segments.values()) if (s.final) time[s.speaker] = (time[s.speaker] || 0) + (s.t1 - s.t0);
  const total = Object.values(time).reduce((a, b) => a + b, 0);
  if (!total) return { share: {}, source: "none" };
  return { share: Object.fromEntries(Object.entries(time).map(([k, v]) => [k, v / total])), source: "transcript" };
}

/** The metrics event's other figures as [name, text] pairs (talk_share is drawn as a bar). */
export function metricRows(model) {
  const values = model.metricValues();
  const unavailable = values.unavailable || {};
  return Object.entries(values).filter(([name]) => name !== "talk_share" && name !== "unavailable")
    .map(([name, value]) => [METRIC_NAMES[name] || human(name), value === null && unavailable[name] ? `n/a (${unavailable[name]})` : metricText(name, value)]);
}

/** Names that say what a figure is where the plain identifier would mislead (the reply latency is another figure). */
const METRIC_NAMES = {
  response_latency: "gap before taking the floor (median)",
  dominance: "dominance (provider talk \u00f7 patient talk)",
};

const UNITS = { speech_rate: " syll/s", pitch: " st", response_latency: " s", overlap_time: " s", talk_time: " s" };

function metricText(name, value) {
  if (value === null || value === undefined) return "n/a";
  if (typeof value === "number") {
    if (name.includes("share")) return percent(value);
    if (UNITS[name] || name.includes("time")) return `${number(value)}${UNITS[name] || " s"}`;
    return Number.isInteger(value) ? String(value) : number(value, 2);
  }
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${speakerWord(k)} ${metricText(name, v)}`).join(" \u00b7 ");
  return String(value);
}
