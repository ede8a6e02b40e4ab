// The login page: a name and password (or the server key) for a session cookie the browser keeps
// (HttpOnly: no script of any page can read it), then back to the page that sent the user here.

import { params } from "./dom.js";

const status = document.getElementById("login-status");
if (params().has("wrong-key")) status.textContent = "That access key is wrong.";

/** Only a path on this server: `?next=https://elsewhere` must not turn the login into a redirect. */
function next() {
  const target = params().get("next") || "/";
  return target.startsWith("/") && !target.startsWith("//") ? target : "/";
}

async function logIn(body) {
  status.textContent = "Logging in\u2026";
  const response = await fetch("/api/session", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (response.ok) return location.replace(next());
  let detail = response.statusText;
  try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
  status.textContent = `Not logged in: ${detail}`;
}

document.getElementById("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  logIn({ name: document.getElementById("name").value.trim(), password: document.getElementById("password").value });
});
document.getElementById("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  logIn({ key: document.getElementById("key").value.trim() });
});
