// Taxonomy v1 and the reply measures as the server serves them (GET /api/taxonomy, from
// server/encounter_feedback/taxonomy.py): fetched once when a page loads, so a page offers exactly
// the labels the server accepts. A page that cannot have them (no or wrong key) says so through
// its own API calls; this module then leaves the lists empty rather than stop the page loading.

import { api } from "./api.js";

const taxonomy = await api("/api/taxonomy").catch((error) => {
  console.error(`the taxonomy did not load: ${error.message}`);
  return { moment_labels: [], response_labels: [], reply_measures: [] };
});

export const MOMENT_LABELS = taxonomy.moment_labels;

/** What a response can be relabelled to: its labels, and "neutral" for a reply that answered nothing. */
export const RESPONSE_LABELS = [...taxonomy.response_labels, "neutral"];

/** Cue kinds that measure a moment's reply against the provider's baseline. */
export const REPLY_MEASURES = taxonomy.reply_measures.map((measure) => measure.kind);

/** The seed study's responsiveness scale (Kanter et al. 2020; ../shared/spec/taxonomy.md): each
 * score's anchor. The score itself comes on the moment event (`responsiveness`). */
export const RESPONSIVENESS = {
  "-3": "strong, immediate negative reaction",
  "-2": "strong negative reaction at any time",
  "-1": "mild negative reaction, or ignoring the challenge",
  "0": "passive reaction",
  "1": "mild positive reaction",
  "2": "strong positive reaction at any time",
  "3": "strong, immediate positive reaction",
};
