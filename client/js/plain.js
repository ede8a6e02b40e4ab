// What happened at a moment in plain words, for the student's report and the moment cards:
// "You replied 1.5 s after the patient finished, speaking noticeably slower than usual" rather
// than z-scores and semitones. The numbers stay on screen for faculty (cues.js).

import { el, human } from "./dom.js";
import { DEFINITIONS, RESPONSIVENESS } from "./taxonomy.js";

/** |z| from which a reply's voice differs "somewhat", and "noticeably", from the provider's own. */
const SOMEWHAT_Z = 1, NOTICEABLY_Z = 2;
/** A reply_change cue has no z: the same words from plain differences (semitones, dB, syllables/s). */
const CHANGE_STEPS = { pitch: [1.5, 3], loudness: [3, 6], speech_rate: [0.6, 1.2] };
/** A gap this long before the reply reads as a long pause. */
const LONG_PAUSE_S = 2;

const DIRECTIONS = {
  speech_rate: ["slower", "faster"],
  pitch: ["lower", "higher"],
  loudness: ["quieter", "louder"],
  pitch_variability: ["flatter", "more varied in pitch"],
};

/** "Discrimination disclosure: recounts unfair treatment linked to race, in health care or elsewhere." */
export function momentWords(label) {
  return sentence(label);
}

/** The reply's label in words: "validation: affirms the experience is real and wrong". */
export function replyWords(response, label = response?.label) {
  if (!response) return "No reply was coded.";
  if (!label || label === "neutral") return "Not coded as responsive or as a microaggression.";
  return sentence(label);
}

/** A label and what it means as a sentence: "Validation: affirms the experience is real and wrong." */
function sentence(label) {
  const meaning = DEFINITIONS[label], name = human(label);
  const words = `${name[0].toUpperCase()}${name.slice(1)}${meaning ? `: ${meaning}` : ""}`;
  return /[.?!'"\u201d]$/.test(words) ? words : `${words}.`;
}

/** What a confidence means, in one sentence (the confidences are calibrated on the dev split, text the encoders never trained on; the held-out split checks them: bench moments, ECE). */
export const CONFIDENCE_NOTE = "A confidence is how often codes like this were right on examples the model had not seen: of codes shown at 80%, about 8 in 10 were right.";

/** Why a moment with `revealed` was flagged (the turn alone was under the threshold). */
export const REVEALED_NOTE = "Found from the reply: the patient's words alone were not clear enough, but the provider answered them as a racial challenge.";

/** The mark a revealed moment carries on its card and in the live list, or nothing. */
export function revealedMark(moment) {
  return moment.revealed ? el("span", { class: "muted revealed", title: REVEALED_NOTE }, " found from the reply") : null;
}

/** The responsiveness score (-3..+3, the seed study's scale) with its anchor, or null. */
export function scoreWords(score) {
  if (typeof score !== "number") return null;
  const anchor = RESPONSIVENESS[String(score)];
  return `${score > 0 ? "+" : score < 0 ? "\u2212" : ""}${Math.abs(score)} on a scale from \u22123 to +3${anchor ? ` (${anchor})` : ""}`;
}

/** "You replied 1.5 s after the patient finished" / "You began before the patient finished". */
export function timingWords(latency) {
  if (typeof latency !== "number") return null;
  if (latency < 0) return `You began ${Math.abs(latency).toFixed(1)} s before the patient finished`;
  if (latency >= LONG_PAUSE_S) return `You replied after a pause of ${latency.toFixed(1)} s`;
  return `You replied ${latency.toFixed(1)} s after the patient finished`;
}

/** How the reply sounded against the provider's own voice, or null when nothing was measured. */
export function voiceWords(measures, change) {
  const shifts = [];
  let measured = false;
  for (const cue of measures) {
    if (typeof cue.z !== "number" || !DIRECTIONS[cue.kind]) continue;
    measured = true;
    const size = Math.abs(cue.z) >= NOTICEABLY_Z ? "noticeably" : Math.abs(cue.z) >= SOMEWHAT_Z ? "somewhat" : null;
    if (size) shifts.push([size, DIRECTIONS[cue.kind][cue.z > 0 ? 1 : 0]]);
  }
  if (!measured && change) {
    for (const [key, value] of Object.entries(change.detail || {})) {
      const kind = Object.keys(CHANGE_STEPS).find((k) => key.startsWith(k));
      if (!kind || typeof value !== "number") continue;
      measured = true;
      const [some, much] = CHANGE_STEPS[kind];
      const size = Math.abs(value) >= much ? "noticeably" : Math.abs(value) >= some ? "somewhat" : null;
      if (size) shifts.push([size, DIRECTIONS[kind][value > 0 ? 1 : 0]]);
    }
  }
  if (!measured) return null;
  if (!shifts.length) return "in your usual voice";
  const phrases = shifts.map(([size, word], i) => (i && shifts[i - 1][0] === size ? word : `${size} ${word}`));
  return `speaking ${phrases.length > 1 ? `${phrases.slice(0, -1).join(", ")} and ${phrases[phrases.length - 1]}` : phrases[0]} than usual`;
}

/** Timing and voice in one sentence: "You replied 1.5 s after the patient finished, speaking noticeably slower than usual." */
export function deliveryWords(latency, measures, change) {
  const timing = timingWords(latency), voice = voiceWords(measures, change);
  if (!timing && !voice) return null;
  if (!timing) return `You spoke ${voice.replace(/^speaking /, "")}.`;
  return `${timing}${voice ? `, ${voice}` : ""}.`;
}
