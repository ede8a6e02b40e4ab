// Taxonomy v1 labels (../shared/spec/taxonomy.md; server/taxonomy.py): the strings events carry.

export const MOMENT_LABELS = [
  "discrimination_disclosure", "mistrust", "provider_bias_challenge", "identity_statement", "stereotype_reaction",
];
export const MICROAGGRESSIONS = ["colorblind", "minimizing", "defensive", "deflecting", "pathologizing", "stereotyping", "meritocracy"];
export const RESPONSIVE = ["validation", "empathy", "exploration", "accountability", "commitment"];
export const RESPONSE_LABELS = [...MICROAGGRESSIONS, ...RESPONSIVE, "neutral"];

export function groupOf(label) {
  if (!label || label === "neutral") return "neutral";
  return MICROAGGRESSIONS.includes(label) ? "microaggression" : RESPONSIVE.includes(label) ? "responsive" : "neutral";
}
