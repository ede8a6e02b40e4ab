// One encounter's events folded into what the views draw (schema v1, ../shared/spec/events.md).
//
// Segments are keyed by id: a partial is replaced by the next partial, then by its final, and a
// final by its second-pass revision; a final with no words withdraws the utterance. Moments,
// responses, cues, notes and assessments are keyed by id too, so an event seen twice (a
// reconnect) counts once, and a flag or cue that arrives `withdrawn` (it no longer holds after a
// change of speakers) is removed.
//
// One truth per event: a flag (moment, response) quotes its turn as transcribed when it was
// coded, and a revision may change those words and times later. Every view asks `flag(event)`,
// which takes the text and times from the latest version of the flag's segments, and
// `latency(moment, response)`, the one latency figure (server: transcript.py `reply_latency`).

import { groupOf, REPLY_MEASURES } from "./taxonomy.js";

/** Seconds of the patient's line heard before it when an exchange is played. */
export const EXCHANGE_LEAD_S = 3;
/** Seconds after the end of the provider's reply (its last word's end is a little early). */
export const EXCHANGE_TAIL_S = 0.5;
/** With no reply coded, this much after the patient's line is played. */
export const NO_REPLY_TAIL_S = 4;

export class EncounterModel {
  constructor() {
    this.segments = new Map();
    this.moments = new Map();
    this.responses = new Map();
    this.cues = new Map();
    this.notes = new Map();
    this.assessments = new Map();  // item ("objective-1") -> its latest rating
    this.metrics = null;
    this.statuses = [];
    this.state = "waiting";
    this.end = 0;
    this.listeners = [];
  }

  /** Call `listener(event, model)` after each event is folded in. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  add(event) {
    switch (event.type) {
      case "segment":
        if (event.final && !event.words.length) this.segments.delete(event.id);
        else this.segments.set(event.id, event);
        break;
      case "moment": this.keep(this.moments, event); break;
      case "response": this.keep(this.responses, event); break;
      case "cue": this.keep(this.cues, event); break;
      case "note": this.notes.set(event.id, event); break;
      case "assessment": this.assessments.set(event.item, event); break;
      case "metrics":
        if (!this.metrics || event.t1 >= this.metrics.t1) this.metrics = event;
        break;
      case "status":
        this.statuses.push(event);
        if (event.state === "started" && this.state === "waiting") this.state = "live";
        if (event.state === "finished") this.state = "finished";
        break;
      default: break;  // a type this page does not know yet
    }
    if (typeof event.t1 === "number") this.end = Math.max(this.end, event.t1);
    for (const listener of this.listeners) listener(event, this);
  }

  keep(events, event) {
    if (event.withdrawn) events.delete(event.id);
    else events.set(event.id, event);
  }

  /**
   * Segments in time order, with faculty speaker corrections applied as the server applies them
   * (server/encounter_feedback/store/corrections.py): `swap_roles` notes swap patient and provider
   * (an odd number of them), then each `reassign` note gives its segment the speaker in `label`.
   */
  transcript() {
    const notes = [...this.notes.values()].sort((a, b) => a.emitted_at - b.emitted_at);
    const swap = notes.filter((n) => n.verdict === "swap_roles").length % 2 === 1;
    const reassigned = new Map(notes.filter((n) => n.verdict === "reassign").map((n) => [n.target, n.label]));
    const swapped = { patient: "provider", provider: "patient" };
    return [...this.segments.values()].map((segment) => {
      let speaker = swap ? swapped[segment.speaker] || segment.speaker : segment.speaker;
      speaker = reassigned.get(segment.id) || speaker;
      return speaker === segment.speaker ? segment : { ...segment, speaker, corrected: true };
    }).sort((a, b) => a.t0 - b.t0 || a.t1 - b.t1);
  }

  /** Speakers of the final transcript, in the order patient, provider, unknown (room). */
  speakers() {
    const present = new Set(this.transcript().filter((s) => s.final).map((s) => s.speaker));
    return ["patient", "provider", "unknown"].filter((s) => present.has(s));
  }

  /**
   * A flag as the transcript now reads: the event with `text`, `t0` and `t1` from the latest
   * version of its segments (as coded when they are gone), and `revised` when they differ.
   */
  flag(event) {
    if (!event) return null;
    const said = (event.segments?.length ? event.segments : [event.segment])
      .map((id) => this.segments.get(id)).filter(Boolean).sort((a, b) => a.t0 - b.t0);
    if (!said.length) return event;
    const text = said.map((s) => s.text).join(" ");
    const t0 = Math.min(...said.map((s) => s.t0)), t1 = Math.max(...said.map((s) => s.t1));
    return { ...event, text, t0, t1, revised: text !== event.text || t0 !== event.t0 || t1 !== event.t1 };
  }

  /** Moments as the transcript now reads, in time order. */
  momentList() {
    return [...this.moments.values()].map((m) => this.flag(m)).sort((a, b) => a.t0 - b.t0);
  }

  /** Responses as the transcript now reads, in time order. */
  responseList() {
    return [...this.responses.values()].map((r) => this.flag(r)).sort((a, b) => a.t0 - b.t0);
  }

  /** The provider's reply to a moment, their first turn after it (as the transcript now reads), or null. */
  responseTo(momentId) {
    return this.flag([...this.responses.values()].find((r) => r.moment === momentId && (r.relation || "immediate") === "immediate")) || null;
  }

  /** Later turns in a moment's window that earned a code (`relation` later), in time order. */
  laterReplies(momentId) {
    return this.responseList().filter((r) => r.moment === momentId && r.relation === "later");
  }

  /** A moment and the provider's replies to it: what its card, its notes and its report item cover. */
  exchangeFlags(moment) {
    return [moment, this.responseTo(moment.id), ...this.laterReplies(moment.id)].filter(Boolean);
  }

  /** Provider remarks coded with no patient moment before them (a standalone microaggression). */
  remarks() {
    return this.responseList().filter((r) => r.relation === "standalone" || !r.moment || !this.moments.has(r.moment));
  }

  /**
   * The response latency: seconds from the end of the patient's turn to the start of the reply
   * (negative: the reply began first), on the latest transcript. The one latency figure.
   */
  latency(moment, response) {
    if (!moment || !response) return null;
    return Math.round((this.flag(response).t0 - this.flag(moment).t1) * 1000) / 1000;
  }

  /** What "play this exchange" plays: from a little before the patient's line to the end of the reply. */
  exchange(moment) {
    const m = this.flag(moment), reply = this.responseTo(moment.id);
    return {
      t0: Math.max(0, m.t0 - EXCHANGE_LEAD_S),
      t1: reply ? Math.max(reply.t1, m.t1) + EXCHANGE_TAIL_S : m.t1 + NO_REPLY_TAIL_S,
    };
  }

  /** The event a note is about, as the transcript now reads (a flag or a segment), or null. */
  target(note) {
    if (!note?.target) return null;
    if (this.moments.has(note.target)) return this.flag(this.moments.get(note.target));
    if (this.responses.has(note.target)) return this.flag(this.responses.get(note.target));
    return this.segments.get(note.target) || null;
  }

  /** Where a note sits on the timeline: at the event it is about, else where it was written. */
  noteTime(note) {
    const target = this.target(note);
    return target ? { t0: target.t0, t1: target.t1 } : { t0: note.t0, t1: note.t1 };
  }

  cueList() {
    return [...this.cues.values()].sort((a, b) => a.t0 - b.t0);
  }

  noteList() {
    return [...this.notes.values()].sort((a, b) => this.noteTime(a).t0 - this.noteTime(b).t0 || a.emitted_at - b.emitted_at);
  }

  /** Notes with text or tags (not verdicts, not bookmarks) about any of `ids` (events or their segments). */
  notesOn(...flags) {
    const ids = new Set(flags.filter(Boolean).flatMap((f) => [f.id, ...(f.segments?.length ? f.segments : [f.segment])]).filter(Boolean));
    return this.noteList().filter((n) => ids.has(n.target) && !n.verdict && (n.text || n.tags?.length));
  }

  /** The latest verdict note on an event (confirm, reject, relabel), or null. */
  verdict(targetId) {
    let latest = null;
    for (const note of this.notes.values()) {
      if (note.target === targetId && note.verdict && (!latest || note.emitted_at >= latest.emitted_at)) latest = note;
    }
    return latest;
  }

  /** A flag's label after the faculty's verdict: a relabel's label, else its own. */
  label(flag) {
    const verdict = this.verdict(flag.id);
    return verdict?.verdict === "relabel" ? verdict.label : flag.label;
  }

  /** A response's group after the faculty's verdict: a relabel's group, else its own. */
  group(response) {
    const verdict = this.verdict(response.id);
    return verdict?.verdict === "relabel" ? groupOf(verdict.label) : response.group;
  }

  rejected(flag) {
    return this.verdict(flag.id)?.verdict === "reject";
  }

  /** Segment id -> the moment or response that covers it (flagged turns). */
  flaggedSegments() {
    const flagged = new Map();
    for (const flag of [...this.moments.values(), ...this.responses.values()]) {
      for (const id of flag.segments?.length ? flag.segments : [flag.segment]) flagged.set(id, flag);
    }
    return flagged;
  }

  /**
   * How the provider's reply to a moment sounded: a `reply_change` cue (linked by `moment`, or its
   * detail's moment/response/segment, else overlapping the reply), and the reply measures the cue
   * analysis emits per moment (`pitch`, `loudness`, `speech_rate`, ... with `moment` set).
   */
  replyCues(moment, response) {
    const cues = this.cueList();
    const ids = new Set([moment?.id, response?.id, response?.segment].filter(Boolean));
    const linked = (c) => ids.has(c.moment) || ["moment", "response", "segment"].some((k) => ids.has(c.detail?.[k]));
    const changes = cues.filter((c) => c.kind === "reply_change");
    const change = changes.find(linked) ||
      (response ? changes.find((c) => c.t0 <= response.t1 + 0.5 && c.t1 >= response.t0 - 0.5) : null) || null;
    const measures = cues.filter((c) => c.moment === moment?.id && REPLY_MEASURES.includes(c.kind));
    return { change, measures };
  }

  /** The latest metrics' figures: `values` where an event has it, else its own fields. */
  metricValues() {
    if (!this.metrics) return {};
    if (this.metrics.values && typeof this.metrics.values === "object") return this.metrics.values;
    const { type, id, encounter, speaker, t0, t1, emitted_at, seq, ...figures } = this.metrics;
    return figures;
  }

  /** Per speaker, [{t, pitch, loudness, rate}] from `prosody` cues (one per utterance). */
  prosody() {
    const series = {};
    for (const cue of this.cueList()) {
      if (cue.kind !== "prosody") continue;
      (series[cue.speaker] ||= []).push({
        t: (cue.t0 + cue.t1) / 2, t0: cue.t0, t1: cue.t1, pitch: cue.value,
        loudness: cue.detail?.loudness_db, rate: cue.detail?.speech_rate,
      });
    }
    return series;
  }
}
