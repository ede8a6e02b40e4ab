// The report for the student: one printed page in plain words (the browser's print dialog saves
// it as PDF). Per moment: what the patient said, the reply, what the reply was in words, its
// responsiveness score, its timing and voice in a sentence, and the faculty's notes on it; then
// the scenario's objectives and checklist as faculty rated them, and the other notes. Rejected
// moments are left out; relabelled ones use the faculty's label. Tallies and figures show on
// screen only.

import { api } from "./api.js";
import { noteWords } from "./annotate.js";
import { clock, el, groupText, human, isoDate, mmss, params } from "./dom.js";
import { EncounterModel } from "./model.js";
import { objectivesReport } from "./objectives.js";
import { deliveryWords, momentWords, replyWords, scoreWords } from "./plain.js";
import { renderSummary } from "./summary-view.js";
import { renderTalk } from "./talk.js";

const encounter = params().get("encounter");
const id = encodeURIComponent(encounter);
document.getElementById("debrief-link").href = `debrief.html?encounter=${id}`;
document.getElementById("print").addEventListener("click", () => window.print());

function momentItem(moment, model) {
  const response = model.responseTo(moment.id);
  const reply = response && model.rejected(response) ? null : response;
  const { change, measures } = model.replyCues(moment, reply);
  const label = model.label(moment);
  const replyLabel = reply ? model.label(reply) : null;
  const score = scoreWords(moment.responsiveness);
  const later = model.laterReplies(moment.id).filter((r) => !model.rejected(r));
  const delivery = reply ? deliveryWords(model.latency(moment, reply), measures, change) : null;
  const notes = model.notesOn(...model.exchangeFlags(moment));
  return el("article", { class: "r-moment", dataset: { id: moment.id } },
    el("h3", {}, el("span", { class: "time" }, mmss(moment.t0)), " ", momentWords(label)),
    el("p", { class: "said patient" }, el("strong", {}, "Patient: "), `\u201c${moment.text}\u201d`),
    reply
      ? [el("p", { class: "said provider" }, el("strong", {}, "You: "), `\u201c${reply.text}\u201d`),
        el("p", {}, el("strong", {}, "Your reply: "), el("span", { class: `tag ${model.group(reply)}` }, groupText(model.group(reply))), " ", replyWords(reply, replyLabel),
          score ? [" ", el("strong", {}, "Responsiveness: "), `${score}.`] : null, delivery ? ` ${delivery}` : null),
        later.map((r) => el("p", { class: "said provider later" }, el("strong", {}, `Later (${mmss(r.t0)}): `), `\u201c${r.text}\u201d `,
          el("span", { class: `tag ${model.group(r)}` }, groupText(model.group(r))), " ", replyWords(r, model.label(r))))]
      : el("p", {}, "No reply of yours was coded after this."),
    notes.length ? el("ul", { class: "faculty" }, notes.map((n) => el("li", { dataset: { id: n.id } }, el("strong", {}, `${n.author}: `), noteWords(n)))) : null);
}

function remarkItem(response, model) {
  return el("article", { class: "r-moment remark", dataset: { id: response.id } },
    el("h3", {}, el("span", { class: "time" }, mmss(response.t0)), " A remark of yours with no patient moment before it."),
    el("p", { class: "said provider" }, el("strong", {}, "You: "), `\u201c${response.text}\u201d`),
    el("p", {}, el("span", { class: `tag ${model.group(response)}` }, groupText(model.group(response))), " ", replyWords(response, model.label(response))),
    model.notesOn(response).map((n) => el("p", { class: "faculty" }, el("strong", {}, `${n.author}: `), noteWords(n))));
}

/** Notes that belong to no kept moment: at a time or a transcript line elsewhere. */
function otherNotes(model, shown) {
  const onShown = new Set(shown.flatMap((f) => model.notesOn(...(f.type === "moment" ? model.exchangeFlags(f) : [f])).map((n) => n.id)));
  return model.noteList().filter((n) => !n.verdict && (n.text || n.tags?.length) && !onShown.has(n.id));
}

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
    ...[["Student", meta.participant], ["Case", summary.title || record.scenario], ["Date", isoDate(record.created_at, false)],
      ["Length", mmss(duration)], ["Station", meta.station], ["Cohort", meta.cohort]]
      .filter(([, v]) => v).map(([k, v]) => el("span", {}, el("strong", {}, `${k}: `), v)));

  const moments = model.momentList().filter((m) => !model.rejected(m));
  const remarks = model.remarks().filter((r) => !model.rejected(r));
  const shown = [...moments, ...remarks].sort((a, b) => a.t0 - b.t0);
  const missed = summary.challenges.filter((c) => !c.detected);
  document.getElementById("moments").replaceChildren(
    ...(shown.length ? shown.map((f) => (f.type === "moment" ? momentItem(f, model) : remarkItem(f, model)))
      : [el("p", {}, "No racially charged moment was flagged in this encounter.")]),
    ...missed.map((c) => el("p", { class: "missed-challenge" },
      `The case's scripted challenge (${human(c.scripted_label)}) was not detected in the recording; ask faculty how it went.`)));

  const items = summary.objectives || [];
  if (items.length) document.getElementById("objectives").replaceChildren(...objectivesReport(items, model).filter(Boolean));
  else document.getElementById("objectives-section").hidden = true;

  const others = otherNotes(model, shown);
  if (others.length) {
    document.getElementById("notes").replaceChildren(...others.map((n) => el("li", {},
      el("span", { class: "time" }, clock(model.noteTime(n).t0)), " ", el("strong", {}, `${n.author}: `), noteWords(n))));
  } else document.getElementById("notes-section").hidden = true;

  document.getElementById("footer").textContent =
    `Encounter ${record.id}. Times are minutes:seconds from the start of the recording. Moments and reply codes come from a model and are pointers for discussion; faculty confirmed or corrected them where noted. Printed ${isoDate(Date.now() / 1000)}.`;
  renderTalk(document.getElementById("talk"), model);
  renderSummary(document.getElementById("summary"), summary, model);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("facts").textContent = `Cannot load encounter ${encounter}: ${error.message}`;
});
