// The debrief report: one printable page per encounter for the student (the browser's print
// dialog saves it as PDF). Rejected flags are left out; relabelled ones show the faculty's label.

import { api } from "./api.js";
import { renderNotes } from "./annotate.js";
import { confidenceNote, momentCard, remarkCard } from "./cards.js";
import { clock, el, params } from "./dom.js";
import { EncounterModel } from "./model.js";
import { renderSummary } from "./summary-view.js";
import { renderTalk } from "./talk.js";
import { renderLanes } from "./timeline.js";

const encounter = params().get("encounter");
const id = encodeURIComponent(encounter);
document.getElementById("debrief-link").href = `debrief.html?encounter=${id}`;
document.getElementById("print").addEventListener("click", () => window.print());

async function main() {
  const [record, events, summary] = await Promise.all([
    api(`/api/encounters/${id}`), api(`/api/encounters/${id}/events`), api(`/api/encounters/${id}/summary`),
  ]);
  const model = new EncounterModel();
  for (const event of events) model.add(event);
  const meta = record.metadata || {};
  const duration = Math.max(0, ...record.tracks.map((t) => t.duration || 0)) || model.end;
  document.title = `Encounter feedback ${meta.participant || record.id}`;
  document.getElementById("facts").replaceChildren(
    ...[["Student", meta.participant], ["Scenario", record.scenario], ["Cohort", meta.cohort], ["Station", meta.station],
      ["Date", new Date(record.created_at * 1000).toLocaleDateString()], ["Length", clock(duration)], ["Encounter", record.id]]
      .filter(([, v]) => v).map(([k, v]) => el("span", {}, el("strong", {}, `${k}: `), v)));
  renderSummary(document.getElementById("summary"), summary, model);
  const kept = model.momentList().filter((m) => model.verdict(m.id)?.verdict !== "reject");
  const remarks = model.standaloneList().filter((r) => model.verdict(r.id)?.verdict !== "reject");
  document.getElementById("cards").replaceChildren(...(kept.length || remarks.length
    ? [confidenceNote(), ...kept.map((m) => momentCard(m, model, { encounter })), ...remarks.map((r) => remarkCard(r, model, { encounter }))]
    : [el("p", { class: "muted" }, "No racially charged moment in this encounter.")]));
  renderTalk(document.getElementById("talk"), model);
  renderLanes(document.getElementById("lanes"), model, duration);
  renderNotes(document.getElementById("notes"), model);
  document.getElementById("footer").textContent = `Printed ${new Date().toLocaleString()}; times are mm:ss from the start of the recording.`;
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("facts").textContent = `Cannot load encounter ${encounter}: ${error.message}`;
});
