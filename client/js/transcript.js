// The transcript: one row per utterance in time order, patient on the left and provider on the
// right. Partials show the words the recognizer has not settled yet (after `stable`) in grey
// italics; the final with the same id replaces them. Turns that carry a moment or response flag
// are highlighted. With `onSeek`, each row's time is a button that seeks the recording there.

import { clock, el, human, speakerName } from "./dom.js";

export class TranscriptView {
  constructor(list, { onSeek = null, follow = false, onReassign = null } = {}) {
    this.list = list;
    this.onSeek = onSeek;
    this.onReassign = onReassign;  // debrief: a button per row gives the segment to the other role
    this.follow = follow;  // keep the newest row in view while the user is at the bottom
    this.rows = new Map();
    this.current = null;
  }

  /** Redraw the rows of changed segments and the flags; cheap enough to call after every event. */
  update(model) {
    const flagged = model.flaggedSegments();
    const segments = model.transcript();
    const scroller = this.list.closest(".scroll") || this.list;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    const seen = new Set();
    let previous = null;
    for (const segment of segments) {
      seen.add(segment.id);
      let row = this.rows.get(segment.id);
      const flag = flagged.get(segment.id) || null;
      const key = `${segment.final}|${segment.revision}|${segment.text}|${segment.stable}|${segment.speaker}|${flag?.id}|${flag?.label}|${flag ? model.verdict(flag.id)?.id : ""}`;
      if (!row) {
        row = el("li", { dataset: { id: segment.id } });
        this.rows.set(segment.id, row);
      }
      if (row.dataset.key !== key) {
        row.dataset.key = key;
        this.fill(row, segment, flag, model);
      }
      if (row.previousElementSibling !== previous || row.parentNode !== this.list) {
        if (previous) previous.after(row); else this.list.prepend(row);
      }
      previous = row;
    }
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.remove(); this.rows.delete(id); }
    if (this.follow && atBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  fill(row, segment, flag, model) {
    row.className = `turn ${segment.speaker}${segment.final ? "" : " partial"}${flag ? ` flagged ${flag.type} ${flag.group || ""}` : ""}`;
    row.dataset.t0 = segment.t0;
    row.dataset.t1 = segment.t1;
    // A flag is timed on the first pass, and the second pass may move its first row's words by a few
    // tenths of a second: that row is current from the flag's start too, so seeking to a flag finds it.
    const opens = flag && (flag.segments?.length ? flag.segments[0] : flag.segment) === segment.id;
    row.dataset.from = opens ? Math.min(segment.t0, flag.t0) : segment.t0;
    const words = segment.words.map((w) => w.w);
    const stable = segment.final ? words.length : Math.min(segment.stable || 0, words.length);
    const time = this.onSeek
      ? el("button", { class: "time link", type: "button", "aria-label": `Play from ${clock(segment.t0)}`, onclick: () => this.onSeek(segment.t0) }, clock(segment.t0))
      : el("span", { class: "time" }, clock(segment.t0));
    const text = el("p", { class: "text" },
      words.slice(0, stable).join(" "),
      stable < words.length ? el("span", { class: "unstable", title: "not settled yet" }, (stable ? " " : "") + words.slice(stable).join(" ")) : null);
    const badges = [];
    if (!segment.final) badges.push(el("span", { class: "tag muted" }, "listening\u2026"));
    if (segment.revision) badges.push(el("span", { class: "tag muted", title: "re-decoded with more context" }, "revised"));
    if (segment.corrected) badges.push(el("span", { class: "tag verdict", title: "speaker corrected by faculty" }, "speaker corrected"));
    const other = { patient: "provider", provider: "patient" }[segment.speaker] || "patient";
    if (this.onReassign && segment.final) {
      badges.push(el("button", { type: "button", class: "reassign link", title: `Said by the ${other}? Reassign this segment`,
        onclick: () => this.onReassign(segment, other) }, `⇄ ${speakerName(other)}`));
    }
    if (flag) {
      const label = flag.type === "moment" ? human(flag.label) : `reply: ${human(flag.label)}`;
      const verdict = model.verdict(flag.id);
      badges.push(el("span", { class: `tag flag ${flag.type} ${flag.group || ""}` }, `\u2691 ${label}`));
      if (verdict) badges.push(el("span", { class: `tag verdict ${verdict.verdict}` }, verdictText(verdict)));
    }
    row.replaceChildren(el("div", { class: "meta" }, time, el("span", { class: "speaker" }, speakerName(segment.speaker)), ...badges), text);
  }

  /** Mark the row being played and keep it in view (debrief). */
  highlight(time) {
    let current = null;
    for (const row of this.rows.values()) {
      if (Number(row.dataset.from) <= time + 0.05 && time <= Number(row.dataset.t1) + 0.3) current = row;
    }
    if (current === this.current) return;
    this.current?.classList.remove("current");
    this.current?.removeAttribute("aria-current");
    this.current = current;
    if (current) {
      current.classList.add("current");
      current.setAttribute("aria-current", "true");
      const box = current.closest(".scroll");
      if (box) box.scrollTop = current.offsetTop - box.offsetTop - box.clientHeight / 3;
    }
  }
}

export function verdictText(note) {
  if (note.verdict === "reassign") return `speaker set to ${note.label} by ${note.author}`;
  if (note.verdict === "swap_roles") return `patient and provider swapped by ${note.author}`;
  if (note.verdict === "confirm") return `confirmed by ${note.author}`;
  if (note.verdict === "reject") return `rejected by ${note.author}`;
  return `relabelled ${human(note.label)} by ${note.author}`;
}
