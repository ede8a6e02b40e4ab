// The server's API and event stream.
//
// The browser is logged in by an HttpOnly session cookie (login.html, or the server's one-time
// `/?key=` link, which the server answers with the cookie and a redirect that drops the key), so
// no page holds a secret: requests, recordings and the event stream carry the cookie by themselves.
// A request the session no longer covers goes to the login page and comes back afterwards.

localStorage.removeItem("encounter-feedback.key");  // where older versions kept the key

export function logIn() {
  location.assign(`/login.html?next=${encodeURIComponent(location.pathname + location.search)}`);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** JSON from the API; ApiError with the server's `detail` on failure (401: off to the login page). */
export async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) logIn();
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response.json();
}

export function recordingUrl(encounter, role) {
  return `/api/encounters/${encodeURIComponent(encounter)}/recordings/${encodeURIComponent(role)}.wav`;
}

export function postNote(encounter, note) {
  return api(`/api/encounters/${encodeURIComponent(encounter)}/notes`, { method: "POST", body: note });
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
    const url = `${location.origin.replace(/^http/, "ws")}/ws/encounters/${encodeURIComponent(encounter)}?after=${last}`;
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
