// The server's API and event stream, with the access key.
//
// The key comes from ?key= on any page (the demo prints such a link) and is then kept in this
// browser's localStorage, so links between pages carry only the encounter id.

const KEY_STORE = "encounter-feedback.key";

export function accessKey() {
  const given = new URLSearchParams(location.search).get("key");
  if (given) localStorage.setItem(KEY_STORE, given);
  return given || localStorage.getItem(KEY_STORE) || "";
}

export function setAccessKey(key) {
  localStorage.setItem(KEY_STORE, key);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** JSON from the API; ApiError with the server's `detail` on failure. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${accessKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response.json();
}

export function recordingUrl(encounter, role) {
  return `/api/encounters/${encodeURIComponent(encounter)}/recordings/${encodeURIComponent(role)}.wav?key=${encodeURIComponent(accessKey())}`;
}

export function postNote(encounter, note) {
  return api(`/api/encounters/${encodeURIComponent(encounter)}/notes`, { method: "POST", body: note });
}

/** A rating of one of the scenario's objectives or checklist items (an `assessment` event). */
export function postAssessment(encounter, assessment) {
  return api(`/api/encounters/${encodeURIComponent(encounter)}/assessments`, { method: "POST", body: assessment });
}

/**
 * Every event of an encounter: stored ones first, then live ones, for as long as the page is open.
 * The socket reconnects after a drop with ?after= the last stored seq, so nothing is missed or
 * repeated (partials, which carry seq null, are live only). `onState` hears "open", "closed", "retrying".
 * `after`: the last seq the page already has (from GET .../events).
 */
export function openStream(encounter, onEvent, onState = () => {}, after = 0) {
  let last = after, socket = null, stopped = false, delay = 500;
  const connect = () => {
    const url = `${location.origin.replace(/^http/, "ws")}/ws/encounters/${encodeURIComponent(encounter)}` +
      `?key=${encodeURIComponent(accessKey())}&after=${last}`;
    socket = new WebSocket(url);
    socket.onopen = () => { delay = 500; onState("open"); };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.seq !== null && event.seq !== undefined) last = Math.max(last, event.seq);
      onEvent(event);
    };
    socket.onclose = () => {
      if (stopped) return onState("closed");
      onState("retrying");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  connect();
  return { close() { stopped = true; socket?.close(); } };
}
