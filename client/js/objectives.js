// The scenario's learning objectives (rated) and checklist (ticked), filled in by faculty during
// the debrief. Each change is posted as an `assessment` event (POST .../assessments); the item's
// latest rating comes back over the WebSocket to every viewer and is exported (objectives.csv)
// and printed in the report. The items come from GET .../summary (`objectives`).

import { postAssessment } from "./api.js";
import { author, send } from "./annotate.js";
import { el, human } from "./dom.js";
import { ASSESSMENT_RATINGS } from "./taxonomy.js";

const MARKS = { met: "\u2713", done: "\u2713", partly_met: "\u25d0", not_met: "\u2717", not_done: "\u2717", not_observed: "\u2013" };

/** "✓ met", "◐ partly met", "not rated" */
export function ratingText(rating) {
  return rating ? `${MARKS[rating] || ""} ${human(rating)}`.trim() : "not rated";
}

/** The latest rating of each item: the model's events over the summary's snapshot. */
function current(item, model) {
  const event = model.assessments.get(item.item);
  return event ? { rating: event.rating, author: event.author } : { rating: item.rating, author: item.author };
}

/** The debrief's form; call `update(model)` when assessment events arrive. */
export class ObjectivesForm {
  /** `time()`: the playhead, stored with each rating. */
  constructor(container, { encounter, items, model, time }) {
    this.items = items;
    this.pending = new Map();  // item -> the rating just chosen here, until its event comes back
    this.status = el("span", { class: "save-status", role: "status" });
    const rate = (item, rating) => async () => {
      const name = author(this.status);
      if (!name) return this.update(model);  // undo the tick until there is a name to sign it
      this.pending.set(item.item, rating);
      const saved = await send(() => postAssessment(encounter, { author: name, item: item.item, rating, t0: Math.round(time() * 1000) / 1000 }), this.status);
      if (!saved) this.pending.delete(item.item);
      this.update(model);
    };
    const objectives = items.filter((i) => i.kind === "objective"), checklist = items.filter((i) => i.kind === "checklist");
    if (!items.length) {
      container.replaceChildren(el("p", { class: "muted" }, "This encounter has no scenario, so no objectives or checklist."));
      return;
    }
    container.replaceChildren(
      objectives.length ? el("h3", {}, "Learning objectives") : null,
      objectives.length ? el("ol", { class: "objectives" }, objectives.map((item) => el("li", { dataset: { item: item.item } },
        el("p", { id: `${item.item}-text` }, item.text),
        el("div", { class: "ratings", role: "radiogroup", "aria-labelledby": `${item.item}-text` },
          Object.keys(ASSESSMENT_RATINGS.objective || {}).map((rating) => el("label", {},
            el("input", { type: "radio", name: `rate-${item.item}`, value: rating, onchange: rate(item, rating) }),
            ` ${human(rating)}`))),
        el("span", { class: "rated-by muted" })))) : null,
      checklist.length ? el("h3", {}, "Checklist") : null,
      checklist.length ? el("ul", { class: "checklist" }, checklist.map((item) => el("li", { dataset: { item: item.item } },
        el("label", {}, el("input", { type: "checkbox", onchange: (e) => rate(item, e.target.checked ? "done" : "not_done")() }), ` ${item.text}`),
        el("span", { class: "rated-by muted" })))) : null,
      el("p", {}, this.status));
    this.container = container;
    this.update(model);
  }

  /** Show each item's latest rating without rebuilding the inputs (focus stays where it is). A
   * rating chosen here stays shown while it is being saved: another item's event arriving first
   * must not untick it. */
  update(model) {
    if (!this.container) return;
    for (const item of this.items) {
      const row = this.container.querySelector(`[data-item="${item.item}"]`);
      const chosen = this.pending.get(item.item);
      if (chosen !== undefined && model.assessments.get(item.item)?.rating === chosen) this.pending.delete(item.item);
      const { rating, author: by } = this.pending.has(item.item) ? { rating: chosen, author: "saving" } : current(item, model);
      for (const input of row.querySelectorAll("input")) input.checked = input.type === "checkbox" ? rating === "done" : input.value === rating;
      row.querySelector(".rated-by").textContent = rating ? `${ratingText(rating)} \u00b7 ${by}` : "";
    }
  }
}

/** The report's list: each objective with its rating, each checklist item ticked or not. */
export function objectivesReport(items, model) {
  const objectives = items.filter((i) => i.kind === "objective"), checklist = items.filter((i) => i.kind === "checklist");
  return [
    objectives.length ? el("ol", { class: "objectives report-list" }, objectives.map((item) => {
      const { rating } = current(item, model);
      return el("li", {}, el("span", { class: `rating ${rating || "unrated"}` }, ratingText(rating)), " ", item.text);
    })) : null,
    checklist.length ? el("ul", { class: "checklist report-list" }, checklist.map((item) => {
      const { rating } = current(item, model);
      return el("li", { class: rating || "unrated" }, el("span", { class: "box", "aria-hidden": "true" }, rating === "done" ? "\u2611" : "\u2610"),
        el("span", { class: "visually-hidden" }, rating === "done" ? "done: " : rating === "not_done" ? "not done: " : "not rated: "), ` ${item.text}`);
    })) : null,
  ];
}
