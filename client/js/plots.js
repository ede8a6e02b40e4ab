// Pitch, loudness and speech rate per speaker over time, from `prosody` cues (one per utterance),
// as plain SVG: full width, on the timeline's view (zoom and pan move them too), with the same
// mm:ss ticks as the ruler and the moments marked as bands.

import { clock, el, mmss, number, speakerName, svg } from "./dom.js";

const PLOTS = [
  ["pitch", "Pitch (mean F0)", "st"],
  ["loudness", "Loudness", "dB"],
  ["rate", "Speech rate", "syll/s"],
];
const H = 120, PAD = { left: 44, right: 8, top: 8, bottom: 20 };

/** `view`: the timeline's TimeView. */
export function renderPlots(container, model, view, onSeek = null) {
  const series = model.prosody();
  const speakers = Object.keys(series);
  if (!speakers.length) {
    container.replaceChildren(el("p", { class: "muted" }, "No prosody cues in this encounter (they come one per utterance once the cue analysis runs)."));
    return;
  }
  const width = Math.max(container.clientWidth, 300);
  container.replaceChildren(
    el("p", { class: "legend" }, speakers.map((s) => el("span", { class: s }, `${s === "patient" ? "\u25cf" : "\u25a0"} ${speakerName(s)}`)),
      el("span", { class: "moment" }, "\u2590 moment")),
    ...PLOTS.map(([key, title, unit]) => plot(series, speakers, key, title, unit, model, view, width, onSeek)));
}

function plot(series, speakers, key, title, unit, model, view, width, onSeek) {
  const all = speakers.flatMap((s) => series[s].map((p) => p[key])).filter(Number.isFinite);
  const figure = el("figure", { class: "plot" }, el("figcaption", {}, `${title} (${unit})`));
  if (!all.length) {
    figure.append(el("p", { class: "muted" }, "no values"));
    return figure;
  }
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
  const inner = width - PAD.left - PAD.right;
  const x = (t) => PAD.left + view.x(t, inner);
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const bottom = H - PAD.bottom;
  const { ticks } = view.ticks(inner);
  const bands = model.momentList().filter((m) => view.visible(m.t0, m.t1)).map((m) =>
    svg("rect", { class: "moment-band", x: x(m.t0).toFixed(1), y: PAD.top, width: Math.max(x(m.t1) - x(m.t0), 2).toFixed(1), height: bottom - PAD.top },
      svg("title", {}, `Moment at ${clock(m.t0)}`)));
  const means = speakers.map((s) => {
    const vs = series[s].map((p) => p[key]).filter(Number.isFinite);
    return vs.length ? `${speakerName(s)} mean ${number(vs.reduce((a, b) => a + b, 0) / vs.length)} ${unit}` : null;
  }).filter(Boolean);
  const chart = svg("svg", { width, height: H, viewBox: `0 0 ${width} ${H}`, role: "img", "aria-label": `${title} per speaker over time: ${means.join("; ")}` },
    svg("clipPath", { id: `clip-${key}` }, svg("rect", { x: PAD.left, y: 0, width: inner, height: H })),
    bands,
    svg("line", { class: "axis", x1: PAD.left, y1: bottom, x2: width - PAD.right, y2: bottom }),
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom }),
    svg("text", { x: PAD.left - 4, y: y(hi) + 4, "text-anchor": "end" }, number(hi)),
    svg("text", { x: PAD.left - 4, y: y(lo) + 4, "text-anchor": "end" }, number(lo)),
    ticks.map(({ t, x: tx }) => [
      svg("line", { class: "grid", x1: PAD.left + tx, y1: PAD.top, x2: PAD.left + tx, y2: bottom }),
      svg("text", { x: PAD.left + tx, y: H - 5, "text-anchor": "middle" }, mmss(t)),
    ]),
    svg("g", { "clip-path": `url(#clip-${key})` }, speakers.flatMap((s) => {
      const points = series[s].filter((p) => Number.isFinite(p[key]));
      return [
        svg("path", { class: `line ${s}`, d: points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ") }),
        ...points.filter((p) => view.visible(p.t)).map((p) => {
          const attrs = { class: `dot ${s}`, transform: `translate(${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)})` };
          const mark = s === "patient" ? svg("circle", { ...attrs, r: 3 }) : svg("rect", { ...attrs, x: -3, y: -3, width: 6, height: 6 });
          mark.append(svg("title", {}, `${speakerName(s)} ${clock(p.t0)}: ${number(p[key])} ${unit}`));
          if (onSeek) mark.addEventListener("click", () => onSeek(p.t0));
          return mark;
        }),
      ];
    })));
  figure.append(chart, el("p", { class: "visually-hidden" }, means.join("; ")));
  return figure;
}
