// The encounter list: live ones first, then the newest; per encounter its length, moments and
// coded replies, scenario, cohort, station and participant (or, blind, the participant's code),
// with search and filters. One request per refresh: GET /api/encounters counts them all at once.

import { api } from "./api.js";
import { el, GROUP_MARKS, isoDate, mmss, params } from "./dom.js";

const legacy = params().get("encounter");  // the demo's link: /?encounter=ID&key=KEY (the server has taken the key)
if (legacy) location.replace(`live.html?encounter=${encodeURIComponent(legacy)}`);

const body = document.getElementById("encounters");
const status = document.getElementById("list-status");
const filters = {
  search: document.getElementById("search"), state: document.getElementById("f-state"),
  scenario: document.getElementById("f-scenario"), cohort: document.getElementById("f-cohort"), station: document.getElementById("f-station"),
};
const blind = document.getElementById("blind");
let encounters = [];

document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
for (const input of Object.values(filters)) input.addEventListener("input", show);
blind.addEventListener("change", refresh);

function stateOf(encounter) {
  if (encounter.live) return "live";
  if (encounter.finished_at) return "finished";
  return "waiting";
}

/** The distinct values of a field, as a filter's options (keeping the one chosen). */
function fillOptions(select, values) {
  const chosen = select.value;
  const sorted = [...new Set(values.filter(Boolean).map(String))].sort();
  select.replaceChildren(el("option", { value: "" }, "any"), ...sorted.map((v) => el("option", { value: v, selected: v === chosen }, v)));
}

function matches(e) {
  const meta = e.metadata || {};
  const words = filters.search.value.trim().toLowerCase();
  const haystack = [e.id, e.scenario, meta.participant, meta.cohort, meta.station, meta.session].filter(Boolean).join(" ").toLowerCase();
  return (!words || words.split(/\s+/).every((w) => haystack.includes(w))) &&
    (!filters.state.value || stateOf(e) === filters.state.value) &&
    (!filters.scenario.value || e.scenario === filters.scenario.value) &&
    (!filters.cohort.value || String(meta.cohort ?? "") === filters.cohort.value) &&
    (!filters.station.value || String(meta.station ?? "") === filters.station.value);
}

function row(e) {
  const state = stateOf(e), meta = e.metadata || {};
  const id = encodeURIComponent(e.id);
  const dash = "\u2014";
  return el("tr", { dataset: { id: e.id } },
    el("td", {}, el("code", {}, e.id)),
    el("td", {}, el("time", { datetime: new Date(e.created_at * 1000).toISOString() }, isoDate(e.created_at))),
    el("td", {}, el("span", { class: `state ${state}` }, state === "live" ? "\u25cf live" : state)),
    el("td", { class: "num" }, e.duration ? mmss(e.duration) : dash),
    el("td", { class: "num" }, String(e.moments)),
    el("td", { class: "replies" },
      e.microaggressions || e.responsive
        ? ["microaggression", "responsive"].map((group) => {
          const n = group === "responsive" ? e.responsive : e.microaggressions;
          return el("span", { class: `tag ${n ? group : "none"}`, title: `replies coded as ${group}` }, `${GROUP_MARKS[group]} ${n} ${group}`);
        })
        : dash),
    el("td", {}, e.scenario || dash),
    el("td", {}, meta.cohort ?? dash),
    el("td", {}, meta.station ?? dash),
    el("td", {}, meta.participant ?? dash),
    el("td", { class: "links" },
      el("a", { href: `live.html?encounter=${id}` }, "Live"), " \u00b7 ",
      el("a", { href: `debrief.html?encounter=${id}` }, "Debrief"), " \u00b7 ",
      el("a", { href: `report.html?encounter=${id}` }, "Report")));
}

function show() {
  const shown = encounters.filter(matches);
  status.textContent = encounters.length
    ? `${shown.length} of ${encounters.length} encounter(s)${blind.checked ? ", participants as codes" : ""}; refreshed ${isoDate(Date.now() / 1000)}:${String(new Date().getSeconds()).padStart(2, "0")}`
    : "No encounters yet.";
  body.replaceChildren(...shown.map(row));
}

async function refresh() {
  try {
    encounters = await api(`/api/encounters${blind.checked ? "?blind=true" : ""}`);
  } catch (error) {
    status.textContent = `Cannot list encounters: ${error.message}`;
    return;
  }
  const order = { live: 0, waiting: 1, finished: 2 };
  encounters.sort((a, b) => order[stateOf(a)] - order[stateOf(b)] || b.created_at - a.created_at);
  fillOptions(filters.scenario, encounters.map((e) => e.scenario));
  fillOptions(filters.cohort, encounters.map((e) => e.metadata?.cohort));
  fillOptions(filters.station, encounters.map((e) => e.metadata?.station));
  show();
}

refresh();
setInterval(refresh, 5000);
