// The encounter list: live ones first, each linked to its live view, debrief and report.

import { api } from "./api.js";
import { el, params } from "./dom.js";

const legacy = params().get("encounter");  // the demo's link: /?encounter=ID&key=KEY (the server has taken the key)
if (legacy) location.replace(`live.html?encounter=${encodeURIComponent(legacy)}`);

const body = document.getElementById("encounters");
const status = document.getElementById("list-status");

function stateOf(encounter) {
  if (encounter.live) return "live";
  if (encounter.finished_at) return "finished";
  return "waiting";
}

async function refresh() {
  let encounters;
  try {
    encounters = await api("/api/encounters");
  } catch (error) {
    status.textContent = `Cannot list encounters: ${error.message}`;
    return;
  }
  const order = { live: 0, waiting: 1, finished: 2 };
  encounters.sort((a, b) => order[stateOf(a)] - order[stateOf(b)] || b.created_at - a.created_at);
  status.textContent = encounters.length ? `${encounters.length} encounter(s); refreshed ${new Date().toLocaleTimeString()}` : "No encounters yet.";
  body.replaceChildren(...encounters.map((e) => {
    const state = stateOf(e);
    const id = encodeURIComponent(e.id);
    return el("tr", { dataset: { id: e.id } },
      el("td", {}, el("code", {}, e.id)),
      el("td", {}, e.scenario || "\u2014"),
      el("td", {}, e.metadata?.participant || "\u2014"),
      el("td", {}, new Date(e.created_at * 1000).toLocaleString()),
      el("td", {}, el("span", { class: `state ${state}` }, state)),
      el("td", { class: "links" },
        el("a", { href: `live.html?encounter=${id}` }, "Live view"), " \u00b7 ",
        el("a", { href: `debrief.html?encounter=${id}` }, "Debrief"), " \u00b7 ",
        el("a", { href: `report.html?encounter=${id}` }, "Report")));
  }));
}

refresh();
setInterval(refresh, 5000);
