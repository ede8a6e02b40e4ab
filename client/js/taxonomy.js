// Taxonomy v1 and what goes with it, as the server serves it (GET /api/taxonomy, from
// server/encounter_feedback/taxonomy.py): fetched once when a page loads, so a page offers exactly
// the labels, tags and ratings the server accepts. A page that cannot have them (no or wrong key)
// says so through its own API calls; this module then leaves the lists empty rather than stop
// the page loading.

import { api } from "./api.js";

const taxonomy = await api("/api/taxonomy").catch((error) => {
  console.error(`the taxonomy did not load: ${error.message}`);
  return { moment_labels: [], response_labels: [], reply_measures: [], definitions: {}, note_tags: {}, assessment_ratings: {}, responsiveness: {} };
});

export const MOMENT_LABELS = taxonomy.moment_labels;

const MICROAGGRESSIONS = new Set(taxonomy.microaggressions || []);
const RESPONSIVE = new Set(taxonomy.responsive || []);

/** A response label's group: microaggression, responsive, or neutral (no label, or "neutral"). */
export function groupOf(label) {
  return MICROAGGRESSIONS.has(label) ? "microaggression" : RESPONSIVE.has(label) ? "responsive" : "neutral";
}

/** What a response can be relabelled to: its labels, and "neutral" for a reply that answered nothing. */
export const RESPONSE_LABELS = [...taxonomy.response_labels, "neutral"];

/** Cue kinds that measure a moment's reply against the provider's baseline. */
export const REPLY_MEASURES = taxonomy.reply_measures.map((measure) => measure.kind);

/** label -> what it means, in a phrase ("affirms the experience is real and wrong"). */
export const DEFINITIONS = taxonomy.definitions || {};

/** tag -> what it means; the debrief offers them in this order on keys 1, 2, ... */
export const NOTE_TAGS = taxonomy.note_tags || {};

/** {objective: {rating: meaning}, checklist: {rating: meaning}} */
export const ASSESSMENT_RATINGS = taxonomy.assessment_ratings || {};

/** The responsiveness scale: "-3" ... "3" -> the anchor of that point. */
export const RESPONSIVENESS = taxonomy.responsiveness || {};
