// The summary panel: each scripted racial challenge (GET .../summary) and the encounter's figures.

import { clock, el, human, signed } from "./dom.js";
import { RESPONSIVENESS } from "./taxonomy.js";

export function renderSummary(container, summary, model) {
  const rows = [...summary.challenges, ...summary.unscripted_moments];
  const counts = summary.responses;
  const cueKinds = {};
  for (const cue of model.cues.values()) cueKinds[cue.kind] = (cueKinds[cue.kind] || 0) + 1;
  container.replaceChildren(el("div", {},
    el("p", {}, `${summary.moments} moment(s) flagged; replies: ${counts.responsive} responsive, ${counts.microaggression} microaggressive, ${counts.neutral} neutral; ${(summary.standalone_responses || []).length} standalone microaggression(s); ${summary.segments} utterances.`),
    rows.length
      ? el("table", { class: "summary-table" },
        el("thead", {}, el("tr", {}, ["Challenge", "Detected", "Moment", "Reply", "Latency", "Responsiveness"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((row) => el("tr", {},
          el("td", {}, row.scripted_label ? human(row.scripted_label) : el("em", {}, "unscripted")),
          el("td", {}, row.detected ? `yes, ${clock(row.t0)}` : el("span", { class: "missed" }, "not detected")),
          el("td", {}, row.label ? human(row.label) : "\u2014"),
          el("td", {}, row.group ? el("span", { class: `tag ${row.group}` }, human(row.response)) : "\u2014"),
          el("td", {}, row.latency !== null && row.latency !== undefined ? `${signed(row.latency)} s` : "\u2014"),
          el("td", { title: row.responsiveness === null || row.responsiveness === undefined ? "" : RESPONSIVENESS[String(row.responsiveness)] },
            row.responsiveness === null || row.responsiveness === undefined ? "\u2014" : signed(row.responsiveness, 0))))))
      : el("p", { class: "muted" }, "No scripted challenges and no moments."),
    Object.keys(cueKinds).length
      ? el("p", { class: "muted" }, "Cues: " + Object.entries(cueKinds).map(([k, n]) => `${human(k)} \u00d7${n}`).join(", "))
      : null));
}
