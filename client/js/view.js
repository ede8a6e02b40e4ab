// The visible stretch of the recording that the waveform, the ruler, the lanes and the plots
// share: zoom and pan change it, and every one of them redraws from it, so they never disagree.

/** The narrowest view: a few words fill the width. */
export const MIN_SPAN_S = 4;
/** Ruler steps (seconds): the first that leaves room between labels is used. */
const STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
/** Pixels between ruler labels, at least ("00:00" is about 36 px wide). */
const MIN_LABEL_GAP_PX = 70;

export class TimeView {
  constructor(duration = 1) {
    this.duration = Math.max(duration, 1);
    this.start = 0;
    this.span = this.duration;
    this.listeners = [];
  }

  /** Call `listener(view)` whenever the visible stretch changes. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  setDuration(duration) {
    const whole = this.span >= this.duration;
    this.duration = Math.max(duration, 1);
    this.set(this.start, whole ? this.duration : this.span);
  }

  get end() {
    return this.start + this.span;
  }

  get zoomed() {
    return this.span < this.duration - 1e-6;
  }

  /** Show [start, start + span], kept inside the recording. */
  set(start, span) {
    span = Math.min(Math.max(span, Math.min(MIN_SPAN_S, this.duration)), this.duration);
    start = Math.min(Math.max(start, 0), this.duration - span);
    if (Math.abs(start - this.start) < 1e-6 && Math.abs(span - this.span) < 1e-6) return;
    this.start = start;
    this.span = span;
    for (const listener of this.listeners) listener(this);
  }

  /** Zoom by `factor` (< 1 zooms in) keeping time `anchor` where it is on screen. */
  zoom(factor, anchor = this.start + this.span / 2) {
    const span = this.span * factor;
    const share = (anchor - this.start) / this.span;
    this.set(anchor - share * span, span);
  }

  /** Move by `seconds` (negative: earlier). */
  pan(seconds) {
    this.set(this.start + seconds, this.span);
  }

  whole() {
    this.set(0, this.duration);
  }

  /** Bring time `t` into view (a seek, the playhead running off the edge), keeping the zoom. */
  reveal(t, margin = 0.1) {
    if (t >= this.start && t <= this.end) return;
    this.set(t - this.span * margin, this.span);
  }

  /** Time -> pixels in a strip `width` wide (can fall outside [0, width]). */
  x(t, width) {
    return ((t - this.start) / this.span) * width;
  }

  /** Pixels -> time. */
  time(x, width) {
    return this.start + (x / width) * this.span;
  }

  visible(t0, t1 = t0) {
    return t1 >= this.start && t0 <= this.end;
  }

  /** Ruler ticks for a strip `width` px wide: [{t, x}] at a step that leaves room for the labels. */
  ticks(width) {
    const step = STEPS.find((s) => (s / this.span) * width >= MIN_LABEL_GAP_PX) || STEPS[STEPS.length - 1];
    const ticks = [];
    for (let t = Math.ceil(this.start / step) * step; t <= this.end + 1e-6; t += step) ticks.push({ t, x: this.x(t, width) });
    return { step, ticks };
  }
}
