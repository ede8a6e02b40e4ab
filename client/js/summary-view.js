// The summary panel (on screen only): each scripted racial challenge (GET .../summary), detected
// or not, with the reply and its latency (the same figure as the cards), and tallies.

import { reportsEvent } from "./cues.js";
import { clock, el, groupText, human, signed } from "./dom.js";
import { RESPONSIVENESS } from "./taxonomy.js";

export function renderSummary(container, summary, model) {
  const rows = [...summary.challenges, ...summary.unscripted_moments];
  const counts = summary.responses;
  const cueKinds = {};
  for (const cue of [...model.cues.values()].filter(reportsEvent)) cueKinds[cue.kind] = (cueKinds[cue.kind] || 0) + 1;
  container.replaceChildren(el("div", {},
    el("p", {}, `${summary.moments} moment(s) flagged; replies: ${counts.responsive} responsive, ${counts.microaggression} microaggressive, ${counts.neutral} neutral; ${(summary.standalone_responses || []).length} standalone microaggression(s); ${summary.segments} utterances.`),
    rows.length
      ? el("table", { class: "summary-table" },
        el("thead", {}, el("tr", {}, ["Challenge", "Detected", "Moment", "Reply", "Latency", "Responsiveness"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((row) => el("tr", {},
          el("td", {}, row.scripted_label ? human(row.scripted_label) : el("em", {}, "unscripted")),
          el("td", {}, row.detected ? `yes, ${clock(row.t0)}` : el("span", { class: "missed" }, "\u2717 not detected")),
          el("td", {}, row.label ? human(row.label) : "\u2014"),
          el("td", {}, row.group ? el("span", { class: `tag ${row.group}` }, `${groupText(row.group).split(" ")[0]} ${human(row.response)}`) : "\u2014"),
          el("td", {}, row.latency !== null && row.latency !== undefined ? `${signed(row.latency)} s` : "\u2014"),
          el("td", { title: typeof row.responsiveness === "number" ? RESPONSIVENESS[String(row.responsiveness)] : "" },
            typeof row.responsiveness === "number" ? signed(row.responsiveness, 0) : "\u2014")))))
      : el("p", { class: "muted" }, "No scripted challenges and no moments."),
    Object.keys(cueKinds).length
      ? el("p", { class: "muted" }, "Cue events by kind: " + Object.entries(cueKinds).map(([k, n]) => `${human(k)} \u00d7${n}`).join(", "))
      : null));
}
