// One encounter's events folded into what the views draw (schema v1, ../shared/spec/events.md).
//
// Segments are keyed by id: a partial is replaced by the next partial, then by its final, and a
// final by its second-pass revision; a final with no words withdraws the utterance. Moments,
// responses, cues and notes are keyed by id too, so an event seen twice (a reconnect) counts once.

import { REPLY_MEASURES } from "./taxonomy.js";

export class EncounterModel {
  constructor() {
    this.segments = new Map();
    this.moments = new Map();
    this.responses = new Map();
    this.cues = new Map();
    this.notes = new Map();
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
      case "moment": this.moments.set(event.id, event); break;
      case "response": this.responses.set(event.id, event); break;
      case "cue": this.cues.set(event.id, event); break;
      case "note": this.notes.set(event.id, event); break;
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

  momentList() {
    return [...this.moments.values()].sort((a, b) => a.t0 - b.t0);
  }

  /** The provider's immediate reply to a moment (its first turn after it), or null. */
  responseTo(momentId) {
    return [...this.responses.values()].find((r) => r.moment === momentId && (r.relation || "immediate") === "immediate") || null;
  }

  /** Later coded turns in a moment's window, in time order. */
  laterReplies(momentId) {
    return [...this.responses.values()].filter((r) => r.moment === momentId && r.relation === "later").sort((a, b) => a.t0 - b.t0);
  }

  /** Provider turns coded as microaggressions with no moment before them, in time order. */
  standaloneList() {
    return [...this.responses.values()].filter((r) => r.relation === "standalone").sort((a, b) => a.t0 - b.t0);
  }

  cueList() {
    return [...this.cues.values()].sort((a, b) => a.t0 - b.t0);
  }

  noteList() {
    return [...this.notes.values()].sort((a, b) => a.t0 - b.t0 || a.emitted_at - b.emitted_at);
  }

  /** The latest verdict note on an event (confirm, reject, relabel), or null. */
  verdict(targetId) {
    let latest = null;
    for (const note of this.notes.values()) {
      if (note.target === targetId && note.verdict && (!latest || note.emitted_at >= latest.emitted_at)) latest = note;
    }
    return latest;
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
    const measures = cues.filter((c) => c.kind !== "reply_change" && c.kind !== "prosody" && c.moment === moment?.id &&
      REPLY_MEASURES.includes(c.kind));
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
