// Pitch, loudness and speech rate per speaker over time, from `prosody` cues (one per utterance),
// as plain SVG line charts.

import { clock, el, number, speakerName, svg } from "./dom.js";

const PLOTS = [
  ["pitch", "Pitch (mean F0)", "st"],
  ["loudness", "Loudness", "dB"],
  ["rate", "Speech rate", "syll/s"],
];
const W = 320, H = 140, PAD = { left: 36, right: 8, top: 8, bottom: 22 };

export function renderPlots(container, model, duration, onSeek = null) {
  const series = model.prosody();
  const speakers = Object.keys(series);
  if (!speakers.length) {
    container.replaceChildren(el("p", { class: "muted" }, "No prosody cues in this encounter (they come one per utterance once the cue analysis runs)."));
    return;
  }
  const span = duration > 0 ? duration : Math.max(model.end, 1);
  container.replaceChildren(
    el("p", { class: "legend" }, speakers.map((s) => el("span", { class: s }, `\u25cf ${speakerName(s)}`))),
    el("div", { class: "plots" }, PLOTS.map(([key, title, unit]) => plot(series, speakers, key, title, unit, span, onSeek))));
}

function plot(series, speakers, key, title, unit, span, onSeek) {
  const values = speakers.flatMap((s) => series[s].map((p) => p[key])).filter((v) => typeof v === "number" && Number.isFinite(v));
  const figure = el("figure", { class: "plot" }, el("figcaption", {}, `${title} (${unit})`));
  if (!values.length) {
    figure.append(el("p", { class: "muted" }, "no values"));
    return figure;
  }
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.1;
  lo -= pad; hi += pad;
  const x = (t) => PAD.left + Math.min(t / span, 1) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const means = speakers.map((s) => {
    const vs = series[s].map((p) => p[key]).filter((v) => typeof v === "number");
    return vs.length ? `${speakerName(s)} mean ${number(vs.reduce((a, b) => a + b, 0) / vs.length)} ${unit}` : null;
  }).filter(Boolean);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title} per speaker over time: ${means.join("; ")}` },
    svg("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    svg("text", { x: PAD.left - 4, y: y(hi - pad) + 4, "text-anchor": "end" }, number(hi - pad)),
    svg("text", { x: PAD.left - 4, y: y(lo + pad) + 4, "text-anchor": "end" }, number(lo + pad)),
    svg("text", { x: PAD.left, y: H - 6 }, "00:00"),
    svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" }, clock(span)),
    ...speakers.flatMap((s) => {
      const points = series[s].filter((p) => typeof p[key] === "number" && Number.isFinite(p[key]));
      return [
        svg("path", { class: `line ${s}`, d: points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ") }),
        ...points.map((p) => {
          const dot = svg("circle", { class: s, cx: x(p.t).toFixed(1), cy: y(p[key]).toFixed(1), r: 3 },
            svg("title", {}, `${speakerName(s)} ${clock(p.t0)}: ${number(p[key])} ${unit}`));
          if (onSeek) { dot.style.cursor = "pointer"; dot.addEventListener("click", () => onSeek(p.t0)); }
          return dot;
        }),
      ];
    }));
  figure.append(chart, el("p", { class: "visually-hidden" }, means.join("; ")));
  return figure;
}

