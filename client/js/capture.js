// The exam-room station: one microphone, one role, sent to the server over WebRTC.
//
// Standard APIs only (getUserMedia, RTCPeerConnection, fetch), so it runs in Chromium and Firefox.
// The offer is sent once ICE gathering has finished (the server takes no trickled candidates);
// no STUN/TURN servers by default: stations and server share a LAN. When the connection drops
// the page reconnects on its own with a fresh offer (the server replaces the role's old
// connection and keeps it on the encounter clock); it stops for good only when the server refuses
// (wrong token, unknown or finished encounter) or the user presses Stop.

import { el, params } from "./dom.js";

const form = document.getElementById("join-form");
const fields = Object.fromEntries(["server", "encounter", "token", "role", "device"].map((name) => [name, document.getElementById(name)]));
const joinButton = document.getElementById("join");
const leaveButton = document.getElementById("leave");
const connection = document.getElementById("connection");
const meter = document.getElementById("level");
const levelText = document.getElementById("level-db");
const sentText = document.getElementById("sent");
const log = document.getElementById("log");

const given = params();
fields.server.value = given.get("server") || location.origin;
for (const name of ["encounter", "token", "role"]) if (given.get(name)) fields[name].value = given.get(name);

let stream = null, pc = null, audio = null, leaving = true, attempt = 0, retryTimer = null, dropTimer = null, statsTimer = null;

function say(state, text) {
  connection.className = `conn ${state}`;
  connection.textContent = text;
  connection.dataset.state = state;
  if (log.firstChild?.dataset.text === text) return;
  log.prepend(el("li", { dataset: { text } }, `${new Date().toLocaleTimeString()} ${text}`));
  while (log.children.length > 30) log.lastChild.remove();
}

class Refused extends Error {}

async function microphone() {
  const device = fields.device.value;
  const constraints = {
    audio: {
      // raw audio for transcription and voice measures: no processing that reshapes loudness or pitch
      echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1,
      ...(device ? { deviceId: { exact: device } } : {}),
    },
  };
  const media = await navigator.mediaDevices.getUserMedia(constraints);
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput");
  const chosen = fields.device.value;
  fields.device.replaceChildren(el("option", { value: "" }, "default microphone"),
    ...devices.map((d, i) => el("option", { value: d.deviceId, selected: d.deviceId === chosen }, d.label || `microphone ${i + 1}`)));
  return media;
}

function startMeter() {
  audio = new AudioContext();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 2048;
  audio.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const db = 10 * Math.log10(sum / samples.length + 1e-12);
    meter.value = Math.max(0, Math.min(1, (db + 60) / 60));
    meter.textContent = `${Math.round(db)} dBFS`;
    levelText.textContent = db < -59 ? "(silent)" : `(${Math.round(db)} dBFS)`;
  }, 100);
  const close = audio.close.bind(audio);
  audio.close = () => { clearInterval(timer); return close(); };
  audio.resume();
}

function gathered(peer, timeout = 3000) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (peer.iceGatheringState === "complete") { clearTimeout(timer); resolve(); } };
    const timer = setTimeout(resolve, timeout);  // send what was gathered so far
    peer.addEventListener("icegatheringstatechange", done);
  });
}

async function connect() {
  const peer = new RTCPeerConnection({ iceServers: [] });
  pc = peer;
  for (const track of stream.getAudioTracks()) peer.addTrack(track, stream);
  peer.addEventListener("connectionstatechange", () => changed(peer));
  await peer.setLocalDescription(await peer.createOffer());
  await gathered(peer);
  const url = `${fields.server.value.replace(/\/$/, "")}/api/encounters/${encodeURIComponent(fields.encounter.value.trim())}/offer`;
  const response = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: peer.localDescription.sdp, type: "offer", role: fields.role.value, token: fields.token.value.trim() }),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    if ([400, 403, 404, 409].includes(response.status)) throw new Refused(detail);
    throw new Error(`server answered ${response.status}: ${detail}`);
  }
  if (pc !== peer) return;  // stopped meanwhile
  await peer.setRemoteDescription(await response.json());
  // The server hanging up (a restart, or this role's connection replaced) closes DTLS at once,
  // long before ICE notices; browsers without RTCDtlsTransport fall back to the ICE timeout.
  const dtls = peer.getSenders()[0]?.transport;
  dtls?.addEventListener("statechange", () => {
    if (peer === pc && !leaving && (dtls.state === "closed" || dtls.state === "failed")) retry(`the server hung up (${dtls.state})`);
  });
}

function changed(peer) {
  if (peer !== pc || leaving) return;
  const state = peer.connectionState;
  clearTimeout(dropTimer);
  if (state === "connected") {
    attempt = 0;
    say("connected", `Connected: sending the ${fields.role.value}'s microphone`);
  } else if (state === "connecting" || state === "new") {
    say("connecting", "Connecting\u2026");
  } else if (state === "disconnected") {  // often recovers by itself within seconds
    say("retrying", "Connection interrupted\u2026");
    dropTimer = setTimeout(() => { if (peer === pc && peer.connectionState !== "connected") retry("the connection did not come back"); }, 3000);
  } else if (state === "failed" || state === "closed") {
    retry(`the connection ${state}`);
  }
}

function retry(reason) {
  if (leaving) return;
  clearTimeout(retryTimer);
  pc?.close();
  pc = null;
  attempt += 1;
  const delay = Math.min(1000 * 2 ** (attempt - 1), 10000);
  say("retrying", `Reconnecting in ${Math.round(delay / 1000)} s (${reason}; attempt ${attempt})`);
  retryTimer = setTimeout(attemptConnect, delay);
}

async function attemptConnect() {
  if (leaving) return;
  say("connecting", "Connecting\u2026");
  try {
    await connect();
  } catch (error) {
    if (error instanceof Refused) {
      const finished = /finished/.test(error.message);
      stop(finished ? "finished" : "error", finished ? "The encounter has finished. Thank you." : `Refused: ${error.message}`);
    } else {
      retry(error.message || "the server did not answer");
    }
  }
}

async function showSent() {
  if (!pc) return;
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type === "outbound-rtp" && report.kind === "audio") {
      sentText.textContent = `Sent ${Math.round(report.bytesSent / 1024)} kB of audio (${report.packetsSent} packets).`;
      sentText.dataset.packets = report.packetsSent;
    }
  }
}

async function join(event) {
  event.preventDefault();
  leaving = false;
  attempt = 0;
  joinButton.disabled = true;
  leaveButton.disabled = false;
  for (const field of Object.values(fields)) field.disabled = true;
  const query = new URLSearchParams({ encounter: fields.encounter.value.trim(), token: fields.token.value.trim(), role: fields.role.value });
  if (fields.server.value !== location.origin) query.set("server", fields.server.value);
  history.replaceState(null, "", `?${query}`);  // a reload rejoins the same encounter
  say("connecting", "Asking for the microphone\u2026");
  try {
    stream = await microphone();
  } catch (error) {
    return stop("error", `No microphone: ${error.message}`);
  }
  startMeter();
  statsTimer = setInterval(showSent, 2000);
  await attemptConnect();
}

function stop(state = "idle", text = "Stopped") {
  leaving = true;
  clearTimeout(retryTimer);
  clearTimeout(dropTimer);
  clearInterval(statsTimer);
  pc?.close();
  pc = null;
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  audio?.close();
  audio = null;
  meter.value = 0;
  levelText.textContent = "";
  say(state, text);
  joinButton.disabled = false;
  leaveButton.disabled = true;
  for (const field of Object.values(fields)) field.disabled = false;
}

form.addEventListener("submit", join);
leaveButton.addEventListener("click", () => stop("idle", "Stopped by this station"));
if (!window.RTCPeerConnection || !navigator.mediaDevices?.getUserMedia) {
  say("error", "This browser cannot send audio (no WebRTC or no microphone access; use https or localhost).");
  joinButton.disabled = true;
}
