// Taxonomy v1 labels (../shared/spec/taxonomy.md; server/taxonomy.py): the strings events carry.

export const MOMENT_LABELS = [
  "discrimination_disclosure", "mistrust", "provider_bias_challenge", "identity_statement", "stereotype_reaction",
];
export const MICROAGGRESSIONS = ["colorblind", "minimizing", "defensive", "deflecting", "pathologizing", "stereotyping", "meritocracy"];
export const RESPONSIVE = ["validation", "empathy", "exploration", "accountability", "commitment"];
export const RESPONSE_LABELS = [...MICROAGGRESSIONS, ...RESPONSIVE, "neutral"];

/** The seed study's responsiveness scale (Kanter et al. 2020): the anchor of each score. */
export const RESPONSIVENESS = {
  "-3": "strong, immediate negative reaction",
  "-2": "strong negative reaction at any time",
  "-1": "mild negative reaction, or ignoring the challenge",
  "0": "passive reaction",
  "1": "mild positive reaction",
  "2": "strong positive reaction at any time",
  "3": "strong, immediate positive reaction",
};

export function groupOf(label) {
  if (!label || label === "neutral") return "neutral";
  return MICROAGGRESSIONS.includes(label) ? "microaggression" : RESPONSIVE.includes(label) ? "responsive" : "neutral";
}
