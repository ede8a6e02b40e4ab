// The debrief player: every role's recording on one timeline, one waveform row per role, and
// mixed playback.
//
// Each station records its own role (16 kHz mono, sample 0 = encounter time 0), so the rows line
// up without any offset. Listening to the roles one at a time would lose the conversation, and
// playing two media elements side by side drifts apart; so the page decodes the recordings, sums
// them into one track for the <audio> element, and draws each role from its own samples
// (wavesurfer.js split channels). Flags are wavesurfer regions on the row of whoever spoke.

import WaveSurfer from "../vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "../vendor/wavesurfer/regions.esm.js";
import { recordingUrl } from "./api.js";

const RATE = 16000;
const PEAKS_PER_S = 100;
const ROLE_ORDER = ["patient", "provider", "room"];
export const ROLE_COLORS = {
  patient: ["#d9a066", "#8a4500"], provider: ["#6fa8cf", "#005a8c"], room: ["#a0a0a0", "#4a4a4a"],
};

async function decode(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`recording not available (${response.status})`);
  const context = new OfflineAudioContext(1, 1, RATE);
  const audio = await context.decodeAudioData(await response.arrayBuffer());
  return audio.getChannelData(0);
}

function peaks(samples) {
  const step = RATE / PEAKS_PER_S, out = new Float32Array(Math.ceil(samples.length / step));
  for (let i = 0; i < out.length; i++) {
    let max = 0;
    for (let j = i * step, end = Math.min(samples.length, j + step); j < end; j++) max = Math.max(max, Math.abs(samples[j]));
    out[i] = max;
  }
  return out;
}

function wav(samples) {
  const buffer = new ArrayBuffer(44 + samples.length * 2), view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, RATE, true); view.setUint32(28, RATE * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  text(36, "data"); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, samples[i])) * 32767, true);
  return new Blob([buffer], { type: "audio/wav" });
}

/**
 * Load the roles' recordings into `container` and play them through `media` (an <audio> element).
 * Returns {wavesurfer, regions, roles, duration}; `roles` is the row order.
 */
export async function createPlayer(container, media, encounter, tracks) {
  const roles = tracks.map((t) => t.role).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
  const channels = await Promise.all(roles.map((role) => decode(recordingUrl(encounter, role))));
  const length = Math.max(...channels.map((c) => c.length));
  const mix = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < channel.length; i++) mix[i] += channel[i];
  media.src = URL.createObjectURL(wav(mix));
  const regions = RegionsPlugin.create();
  const wavesurfer = WaveSurfer.create({
    container, media, height: 64, peaks: channels.map(peaks), duration: length / RATE, normalize: true,
    barWidth: 2, barGap: 1, barRadius: 1, cursorColor: "#1b1b1b", cursorWidth: 2, dragToSeek: true,
    splitChannels: roles.map((role) => ({ waveColor: ROLE_COLORS[role]?.[0] || "#999", progressColor: ROLE_COLORS[role]?.[1] || "#444" })),
    plugins: [regions],
  });
  await new Promise((resolve) => wavesurfer.once("ready", resolve));
  return { wavesurfer, regions, roles, duration: length / RATE };
}
