// The debrief's audio: every role's recording decoded in the browser, mixed into one track for
// one <audio> element, and each role's peaks kept for its waveform row (waveform.js).
//
// Each station records its own role (16 kHz mono, sample 0 = encounter time 0), so the rows line
// up without any offset. Listening to the roles one at a time would lose the conversation, and
// two media elements played side by side drift apart; hence one mix. A room recording is one
// track already.
//
// `Playback` plays, seeks, and plays a stretch then stops (or loops): "play this exchange".

import { recordingUrl } from "./api.js";

const RATE = 16000;
export const PEAKS_PER_S = 100;
const ROLE_ORDER = ["patient", "provider", "room", "unknown"];

async function decode(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`recording not available (${response.status})`);
  const context = new OfflineAudioContext(1, 1, RATE);
  const audio = await context.decodeAudioData(await response.arrayBuffer());
  return audio.getChannelData(0);
}

/** The largest |sample| of each 1/PEAKS_PER_S s, normalized so the loudest is 1. */
function peaks(samples) {
  const step = RATE / PEAKS_PER_S, out = new Float32Array(Math.ceil(samples.length / step));
  let top = 1e-6;
  for (let i = 0; i < out.length; i++) {
    let max = 0;
    for (let j = i * step, end = Math.min(samples.length, j + step); j < end; j++) max = Math.max(max, Math.abs(samples[j]));
    out[i] = max;
    top = Math.max(top, max);
  }
  for (let i = 0; i < out.length; i++) out[i] /= top;
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
 * Decode the roles' recordings and load their mix into `media` (an <audio> element).
 * Returns {roles, peaks: {role: Float32Array}, duration}; `roles` is the row order.
 */
export async function loadRecordings(media, encounter, tracks) {
  const roles = tracks.map((t) => t.role).sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
  const channels = await Promise.all(roles.map((role) => decode(recordingUrl(encounter, role))));
  const length = Math.max(...channels.map((c) => c.length));
  const mix = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < channel.length; i++) mix[i] += channel[i];
  media.src = URL.createObjectURL(wav(mix));
  await new Promise((resolve, reject) => {
    media.addEventListener("loadedmetadata", resolve, { once: true });
    media.addEventListener("error", () => reject(new Error("the browser cannot play the mix")), { once: true });
  });
  return { roles, peaks: Object.fromEntries(roles.map((role, i) => [role, peaks(channels[i])])), duration: length / RATE };
}

/** Play, pause, seek, and play a stretch [t0, t1] once or in a loop. Listeners hear "time" and "state". */
export class Playback {
  constructor(media) {
    this.media = media;
    this.range = null;  // {t0, t1, loop} while playing a stretch
    this.listeners = { time: [], state: [] };
    media.addEventListener("timeupdate", () => { if (!this.atRangeEnd()) this.emit("time"); });
    media.addEventListener("play", () => { this.emit("state"); this.watch(); });
    media.addEventListener("pause", () => this.emit("state"));
    media.addEventListener("ended", () => { this.range = null; this.emit("state"); });
  }

  on(name, listener) {
    this.listeners[name].push(listener);
  }

  emit(name) {
    for (const listener of this.listeners[name]) listener(this);
  }

  get time() {
    return this.media.currentTime;
  }

  get duration() {
    return this.media.duration || 0;
  }

  get playing() {
    return !this.media.paused;
  }

  /** Go to `t`; a stretch being played ends if `t` is outside it. */
  seek(t) {
    if (this.range && (t < this.range.t0 || t > this.range.t1)) { this.range = null; this.emit("state"); }
    this.moveTo(t);
  }

  moveTo(t) {
    this.media.currentTime = Math.max(0, Math.min(t, this.duration));
    this.emit("time");
  }

  /** Start playing. A pause (or a seek to a new source) before playback begins rejects the browser's
   * play() promise with an AbortError: the user asked for that, so it is swallowed; anything else
   * (no permission, no decodable source) still surfaces. */
  play() {
    return this.media.play().catch((error) => {
      if (error.name !== "AbortError") throw error;
    });
  }

  pause() {
    this.media.pause();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  /** Play from t0 and stop at t1 (with `loop`, start again at t0 until paused or sent elsewhere). */
  playRange(t0, t1, loop = false) {
    this.range = { t0, t1: Math.min(t1, this.duration), loop };
    this.moveTo(t0);
    this.emit("state");
    return this.play();
  }

  setLoop(loop) {
    if (this.range) { this.range.loop = loop; this.emit("state"); }
  }

  /** At the end of the stretch being played: start it again (loop) or stop there. True when it acted. */
  atRangeEnd() {
    const range = this.range;
    if (!range || !this.playing || this.time < range.t1) return false;
    if (range.loop) this.moveTo(range.t0);
    else {
      this.range = null;
      this.pause();
      this.moveTo(range.t1);
    }
    return true;
  }

  /** While playing, follow the clock each frame: timeupdate comes only every ~250 ms, too late to stop on a word. */
  watch() {
    if (this.watching) return;
    this.watching = true;
    const step = () => {
      if (!this.playing) { this.watching = false; return; }
      if (!this.atRangeEnd()) this.emit("time");
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }
}
