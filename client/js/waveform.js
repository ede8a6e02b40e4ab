// Waveforms drawn on canvas from the peaks player.js keeps (100 per second): one row per role
// for the visible stretch, and the whole recording in the overview strip. Plain canvas, so the
// rows follow the shared TimeView exactly and need no styles injected into the page.

import { PEAKS_PER_S } from "./player.js";

export const ROLE_COLORS = { patient: "#b86a1e", provider: "#2f7fb5", room: "#6b6b6b", unknown: "#6b6b6b" };
const MOMENT_MARK = "#9a4a00";

/** A canvas sized to its box in device pixels; returns its 2D context and CSS size. */
function sized(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

/** The loudest peak in [t0, t1). */
function peakAt(peaks, t0, t1) {
  let max = 0;
  const end = Math.min(peaks.length, Math.ceil(t1 * PEAKS_PER_S));
  for (let i = Math.max(0, Math.floor(t0 * PEAKS_PER_S)); i < end; i++) if (peaks[i] > max) max = peaks[i];
  return max;
}

/** One role's waveform for the view's stretch, mirrored about the middle, one bar per pixel column. */
export function drawPeaks(canvas, peaks, view, role) {
  const { context, width, height } = sized(canvas);
  if (!peaks) return;
  const middle = height / 2, step = view.span / width;
  context.fillStyle = ROLE_COLORS[role] || ROLE_COLORS.room;
  for (let x = 0; x < width; x++) {
    const t = view.start + x * step;
    const h = Math.max(0.5, peakAt(peaks, t, t + step) * (middle - 2));
    context.fillRect(x, middle - h, 1, h * 2);
  }
  context.fillStyle = "rgba(0, 0, 0, 0.25)";
  context.fillRect(0, middle, width, 0.5);
}

/** The whole recording (all roles, loudest at each time) with the moments marked on top. */
export function drawOverview(canvas, peakRows, duration, moments) {
  const { context, width, height } = sized(canvas);
  const step = duration / width;
  context.fillStyle = "#8a8a8a";
  for (let x = 0; x < width; x++) {
    const t = x * step;
    const h = Math.max(0.5, Math.max(...peakRows.map((p) => peakAt(p, t, t + step))) * (height - 8));
    context.fillRect(x, height - h, 1, h);
  }
  context.fillStyle = MOMENT_MARK;
  for (const moment of moments) {
    const x = (moment.t0 / duration) * width;
    context.beginPath();
    context.moveTo(x - 4, 0);
    context.lineTo(x + 4, 0);
    context.lineTo(x, 6);
    context.fill();
    context.fillRect(x - 0.5, 0, 1.5, height);
  }
}
