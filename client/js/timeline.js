// The debrief timeline: an overview strip (long or zoomed recordings), an mm:ss ruler, one
// waveform row per recorded role, and lanes (speech, moments, replies, turn gaps, cues, notes),
// all on the shared TimeView so zoom and pan move them together.
//
// Lane items sit in one layer in time order, so Tab visits them by time whatever their lane.
// Cue and note chips are laid out so that none overlap: chips that would touch at this zoom are
// grouped behind one chip ("3 cues") that lists them; zooming in splits them again. A cue that
// reports no event (value 0) or could not be measured gets no chip (cues.js `chipCue`).

import { cueChipText, chipCue, describeCue } from "./cues.js";
import { clock, el, groupText, human, mmss, speakerName } from "./dom.js";
import { drawOverview, drawPeaks } from "./waveform.js";

const ROW = { overview: 26, ruler: 20, wave: 52 };
const LANE_H = 24;
const GAPS_H = 12;
const CHIP_GAP_PX = 4;
const CHIP_PAD_PX = 18;  // padding, borders (a speaker's 4 px left border) and a pixel to spare
const CHIP_FONT = "600 11px system-ui, sans-serif";
/** The label column (app.css .timeline grid) and the gap beside it. */
const LABEL_PX = 96 + 8;
const MIN_ITEM_PX = 10;
/** Recordings longer than this get the overview strip even when the whole is in view. */
const LONG_S = 120;

export class Timeline {
  /** `onSeek(t)`: play from t. */
  constructor(root, { model, view, onSeek }) {
    this.root = root;
    this.model = model;
    this.view = view;
    this.onSeek = onSeek;
    this.recording = null;
    this.time = 0;
    this.scheduled = false;
    this.popover = null;
    root.classList.add("timeline");
    new ResizeObserver(() => this.schedule()).observe(root);
    view.onChange(() => this.schedule());
    root.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    document.addEventListener("pointerdown", (e) => { if (this.popover && !this.popover.contains(e.target)) this.closePopover(); });
  }

  /** {roles, peaks, duration} once the recordings are decoded (null: none). */
  setRecording(recording) {
    this.recording = recording;
    this.schedule();
  }

  /** Redraw at the next frame (model, view or size changed); several calls draw once. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** The width of the track column in pixels. */
  get width() {
    return Math.max(this.root.clientWidth - LABEL_PX, 100);
  }

  render() {
    const focused = document.activeElement?.closest?.(".timeline [data-key]")?.dataset.key;
    this.closePopover();
    const rows = [];
    const roles = this.recording?.roles || [];
    const overview = this.recording && (this.view.zoomed || this.view.duration > LONG_S);
    if (overview) rows.push(["Whole", this.overviewRow(), "overview"]);
    rows.push(["", this.rulerRow(), "ruler"]);
    for (const role of roles) rows.push([speakerName(role), this.waveRow(role, roles.length), `wave ${role}`]);
    const lanes = this.lanes();
    rows.push([el("div", { class: "lane-names" }, lanes.map((lane) => el("span", { class: `lane-name ${lane.cls}`, style: { height: `${lane.height || LANE_H}px` } }, lane.name))),
      this.lanesLayer(lanes), "lanes"]);
    this.root.replaceChildren(
      ...rows.flatMap(([name, track, cls]) => [
        el("div", { class: `tl-label ${cls}`, "aria-hidden": "true" }, name),
        track,
      ]),
      this.playheadEl = el("div", { class: "playhead", "aria-hidden": "true" }),
    );
    this.tracks = this.root.querySelector(".tl-track");
    this.root.dataset.start = this.view.start.toFixed(3);  // what is drawn now (tests wait on it)
    this.root.dataset.span = this.view.span.toFixed(3);
    this.drawCanvases();
    this.playhead(this.time);
    if (focused) this.root.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  /** Move the playhead line; the view follows it when it runs off the edge. */
  playhead(t) {
    this.time = t;
    if (!this.playheadEl || !this.tracks) return;
    const x = this.view.x(t, this.width);
    this.playheadEl.hidden = x < 0 || x > this.width;
    this.playheadEl.style.left = `${this.tracks.offsetLeft + x}px`;
    this.playheadEl.style.top = `${this.root.querySelector(".tl-track.ruler")?.offsetTop ?? 0}px`;
    const box = this.root.querySelector(".tl-track.overview .viewport");
    if (box) this.placeViewport(box);
  }

  // -- rows -----------------------------------------------------------------------------------

  overviewRow() {
    const canvas = el("canvas", { class: "overview-canvas" });
    const viewport = el("div", { class: "viewport", title: "The part shown below; drag to move it" });
    const row = el("div", { class: "tl-track overview", role: "group", "aria-label": "Whole recording: click or drag to choose what is shown" }, canvas, viewport);
    const move = (e) => {
      const box = row.getBoundingClientRect();
      const t = ((e.clientX - box.left) / box.width) * this.view.duration;
      this.view.set(t - this.view.span / 2, this.view.span);
    };
    row.addEventListener("pointerdown", (e) => {
      row.setPointerCapture(e.pointerId);
      move(e);
      const drag = (m) => move(m);
      row.addEventListener("pointermove", drag);
      row.addEventListener("pointerup", () => row.removeEventListener("pointermove", drag), { once: true });
    });
    return row;
  }

  placeViewport(box) {
    const d = this.view.duration;
    box.style.left = `${(this.view.start / d) * 100}%`;
    box.style.width = `${(this.view.span / d) * 100}%`;
  }

  rulerRow() {
    const width = this.width;
    const { step, ticks } = this.view.ticks(width);
    const label = step < 1 ? clock : mmss;
    const row = el("div", { class: "tl-track ruler", "aria-hidden": "true" },
      ticks.map(({ t, x }) => el("span", { class: "tick", style: { left: `${x}px` } }, label(t))));
    row.addEventListener("click", (e) => this.seekAt(e, row));
    return row;
  }

  waveRow(role) {
    const canvas = el("canvas", { class: "wave-canvas", dataset: { role } });
    const room = role === "room" || role === "unknown";
    const bands = [];
    for (const m of this.model.momentList()) {
      if (room || m.speaker === role) bands.push(this.band(m, "moment"));
    }
    for (const r of this.model.responseList()) {
      if (room || r.speaker === role) bands.push(this.band(r, `response ${this.model.group(r)}`));
    }
    const row = el("div", { class: `tl-track wave ${role}`, "aria-hidden": "true", title: "Click to play from here" }, canvas, bands);
    row.addEventListener("click", (e) => this.seekAt(e, row));
    return row;
  }

  band(flag, cls) {
    const x0 = this.view.x(flag.t0, this.width), x1 = this.view.x(flag.t1, this.width);
    return el("span", { class: `band ${cls}`, style: { left: `${x0}px`, width: `${Math.max(x1 - x0, 2)}px` } });
  }

  drawCanvases() {
    if (!this.recording) return;
    for (const canvas of this.root.querySelectorAll(".wave-canvas")) {
      drawPeaks(canvas, this.recording.peaks[canvas.dataset.role], this.view, canvas.dataset.role);
    }
    const overview = this.root.querySelector(".overview-canvas");
    if (overview) drawOverview(overview, Object.values(this.recording.peaks), this.view.duration, this.model.momentList());
  }

  // -- lanes ----------------------------------------------------------------------------------

  /** [{name, cls, items: [{key, t0, t1, cls, text, label, kind: "span"|"chip"|"tick", focusable}]}] */
  lanes() {
    const model = this.model;
    const lanes = [];
    const segments = model.transcript().filter((s) => s.final);
    for (const speaker of model.speakers()) {
      lanes.push({
        name: speakerName(speaker), cls: speaker,
        items: segments.filter((s) => s.speaker === speaker).map((s) => ({
          key: s.id, t0: s.t0, t1: s.t1, cls: `speech ${speaker}`, text: "", kind: "span", focusable: false,
          label: `${speakerName(speaker)} at ${clock(s.t0)}: ${s.text}`,
        })),
      });
    }
    lanes.push({
      name: "Moments", cls: "moments",
      items: model.momentList().map((m) => {
        const label = human(model.label(m)), off = model.rejected(m) ? " rejected" : "";
        return { key: m.id, t0: m.t0, t1: m.t1, cls: `moment${off}`, text: `\u2691 ${label}`, kind: "span", focusable: true,
          label: `Moment at ${clock(m.t0)}: ${label}${off ? " (rejected by faculty)" : ""}` };
      }),
    });
    lanes.push({
      name: "Replies", cls: "replies",
      items: model.responseList().map((r) => {
        const label = human(model.label(r)), group = model.group(r), off = model.rejected(r) ? " rejected" : "";
        return { key: r.id, t0: r.t0, t1: r.t1, cls: `response ${group}${off}`, text: `${groupText(group).split(" ")[0]} ${label}`,
          kind: "span", focusable: true, label: `Reply at ${clock(r.t0)}: ${label}, ${group}${off ? " (rejected by faculty)" : ""}` };
      }),
    });
    lanes.push({ name: "Turn gaps", cls: "gaps", height: GAPS_H, items: this.gaps() });
    lanes.push({
      name: "Cues", cls: "cues",
      items: model.cueList().filter(chipCue).map((c) => ({
        key: c.id, t0: c.t0, t1: c.t1, cls: `cue ${c.speaker}`, text: cueChipText(c), kind: "chip", focusable: true,
        label: `${speakerName(c.speaker)}: ${human(c.kind)} ${describeCue(c)} at ${clock(c.t0)}`.replace(/\s+/g, " "),
      })),
    });
    lanes.push({
      name: "Notes", cls: "notes",
      items: model.noteList().filter((n) => !n.verdict).map((n) => {
        const { t0, t1 } = model.noteTime(n), target = model.target(n);
        const about = target ? ` on the ${target.type === "segment" ? "line" : target.type === "response" ? "reply" : "moment"}` : "";
        const words = [...(n.tags || []).map(human), n.text].filter(Boolean).join(": ") || "bookmark";
        return { key: n.id, t0, t1, cls: `note${n.text || n.tags?.length ? "" : " bookmark"}`, text: `\u270e ${shorten(words)}`, kind: "chip",
          focusable: true, label: `Note${about} at ${clock(t0)} by ${n.author}: ${words}` };
      }),
    });
    return lanes;
  }

  /** One tick per response latency: where a speaker took the floor, the gap before it. */
  gaps() {
    const model = this.model;
    const replies = new Map(model.responseList().map((r) => [r.segment, r]));
    const seen = new Set();
    const ticks = [];
    for (const cue of model.cueList()) {
      if (cue.kind !== "response_latency" || cue.value === null || seen.has(cue.segment ?? cue.id)) continue;
      seen.add(cue.segment ?? cue.id);
      const reply = replies.get(cue.segment);
      const moment = reply && model.moments.get(reply.moment);
      const gap = moment ? model.latency(moment, reply) : cue.value;
      const start = moment ? reply.t0 : cue.value >= 0 ? cue.t1 : cue.t0;
      ticks.push({ key: `gap-${cue.segment ?? cue.id}`, t0: Math.min(start - gap, start), t1: Math.max(start - gap, start), at: start,
        cls: `gap ${cue.speaker}${moment ? " reply" : ""}`, kind: "tick", focusable: false,
        label: `${speakerName(cue.speaker)} ${gap < 0 ? `started ${Math.abs(gap).toFixed(1)} s before the other finished` : `began ${gap.toFixed(1)} s after the other finished`}` });
    }
    return ticks;
  }

  lanesLayer(lanes) {
    const width = this.width;
    let top = 0;
    const backgrounds = [], items = [];
    for (const lane of lanes) {
      const height = lane.height || LANE_H;
      backgrounds.push(el("div", { class: `lane-bg ${lane.cls}`, style: { top: `${top}px`, height: `${height}px` } }));
      const visible = lane.items.filter((i) => this.view.visible(i.t0, i.t1));
      const placed = lane.items.some((i) => i.kind === "chip") ? this.chips(visible, width) : visible.map((i) => this.place(i, width));
      for (const p of placed) items.push({ ...p, top: top + 2, height: height - 4 });
      top += height;
    }
    items.sort((a, b) => a.t0 - b.t0 || a.top - b.top);
    const layer = el("div", { class: "tl-track lanes", role: "group", "aria-label": "Timeline lanes: each item plays the recording from its start" },
      backgrounds, items.map((i) => this.itemEl(i)));
    layer.style.height = `${top}px`;
    layer.addEventListener("click", (e) => { if (e.target === layer || e.target.classList.contains("lane-bg")) this.seekAt(e, layer); });
    return layer;
  }

  /** A span item at its times (at least MIN_ITEM_PX wide), cut to the view. */
  place(item, width) {
    if (item.kind === "tick") {
      const x0 = this.view.x(item.t0, width), x1 = this.view.x(item.t1, width);
      return { ...item, x: x0, w: Math.max(x1 - x0, 1), tickAt: this.view.x(item.at, width) - x0 };
    }
    const x0 = Math.max(this.view.x(item.t0, width), 0), x1 = Math.min(this.view.x(item.t1, width), width);
    return { ...item, x: x0, w: Math.max(x1 - x0, MIN_ITEM_PX) };
  }

  /**
   * Chips start at their time and are as wide as their words; a chip that would overlap the one
   * before it at this zoom joins it, and a chip of several is one group chip ("3 cues") that lists
   * them. None overlap by construction.
   */
  chips(items, width) {
    const groups = [];
    const overlap = (a, b) => b.x < a.x + a.w + CHIP_GAP_PX;
    for (const item of [...items].sort((a, b) => a.t0 - b.t0)) {
      const w = chipWidth(item.text);
      groups.push({ x: Math.max(0, Math.min(this.view.x(item.t0, width), width - w)), w, members: [item] });
      while (groups.length > 1 && overlap(groups[groups.length - 2], groups[groups.length - 1])) {
        const b = groups.pop(), a = groups[groups.length - 1];
        a.members.push(...b.members);
        a.w = chipWidth(groupWords(a.members));
        a.x = Math.max(0, Math.min(a.x, width - a.w));
      }
    }
    return groups.map(({ x, w, members }) => members.length === 1
      ? { ...members[0], x, w }
      : { key: `group-${members[0].key}`, t0: members[0].t0, t1: Math.max(...members.map((m) => m.t1)), x, w,
        cls: `${members[0].cls.split(" ")[0]} group`, text: groupWords(members), kind: "chip", focusable: true, members,
        label: `${groupWords(members)} from ${clock(members[0].t0)}: ${members.map((m) => m.label).join("; ")}` });
  }

  itemEl(item) {
    const style = { left: `${item.x}px`, width: `${item.w}px`, top: `${item.top}px`, height: `${item.height}px` };
    if (item.kind === "tick") {
      return el("span", { class: `tick-item ${item.cls}`, style, title: item.label, "aria-hidden": "true" },
        el("span", { class: "tick-mark", style: { left: `${item.tickAt}px` } }));
    }
    const attrs = { type: "button", class: `item ${item.kind} ${item.cls}`, style, title: item.label, "aria-label": item.label, dataset: { key: item.key, t0: item.t0 } };
    if (!item.focusable) attrs.tabindex = "-1";
    const button = el("button", attrs, item.text);
    button.addEventListener("click", (e) => {
      e.stopPropagation();
      if (item.members) this.openPopover(button, item);
      else this.onSeek(item.t0);
    });
    return button;
  }

  openPopover(button, group) {
    this.closePopover();
    const list = el("div", { class: "chip-popover", role: "dialog", "aria-label": group.label.split(":")[0] },
      el("ul", {}, group.members.map((m) => el("li", {}, el("button", {
        type: "button", class: "link", onclick: () => { this.closePopover(); this.onSeek(m.t0); },
      }, `${clock(m.t0)} ${m.label.replace(/ at \d\d:\d\d\.\d$/, "")}`)))));
    list.addEventListener("keydown", (e) => { if (e.key === "Escape") { this.closePopover(); button.focus(); } });
    list.style.left = `${this.tracks.offsetLeft + Math.min(group.x, this.width - 260)}px`;
    list.style.top = `${button.offsetTop + button.offsetHeight + button.parentElement.offsetTop + 2}px`;
    this.root.append(list);
    this.popover = list;
    list.querySelector("button")?.focus();
  }

  closePopover() {
    this.popover?.remove();
    this.popover = null;
  }

  // -- input ----------------------------------------------------------------------------------

  seekAt(event, row) {
    const box = row.getBoundingClientRect();
    this.onSeek(this.view.time(event.clientX - box.left, box.width));
  }

  /** Ctrl+wheel (or a pinch) zooms around the pointer; Shift+wheel or a sideways swipe pans. */
  wheel(e) {
    if (!this.tracks) return;
    const box = this.tracks.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      this.view.zoom(Math.exp(e.deltaY * 0.0025), this.view.time(e.clientX - box.left, box.width));
    } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      const pixels = Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY;
      this.view.pan((pixels / box.width) * this.view.span);
    }
  }
}

function shorten(text, words = 3) {
  const parts = text.split(/\s+/);
  return parts.length > words ? `${parts.slice(0, words).join(" ")}\u2026` : text;
}

function groupWords(members) {
  return `${members.length} ${members[0].cls.startsWith("note") ? "notes" : "cues"}`;
}

/** A chip's width: its words in the chips' font (CHIP_FONT, the same as .item.chip in app.css) and padding. */
function chipWidth(text) {
  const context = (chipWidth.context ||= document.createElement("canvas").getContext("2d"));
  context.font = CHIP_FONT;
  return Math.ceil(context.measureText(text).width) + CHIP_PAD_PX;
}
