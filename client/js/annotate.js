// Faculty annotation: verdicts on flags (confirm, reject, relabel), notes and bookmarks.
//
// Everything is posted as a `note` event (POST /api/encounters/{id}/notes). The page does not
// draw its own note: the server sends it back over the WebSocket, to this viewer and every other
// one at the same moment, and the views redraw from there.

import { postNote } from "./api.js";
import { clock, el, human } from "./dom.js";
import { MOMENT_LABELS, RESPONSE_LABELS } from "./taxonomy.js";
import { verdictText } from "./transcript.js";

const AUTHOR_STORE = "encounter-feedback.author";

/** The "Your name" field every annotation is signed with (remembered in this browser). */
export function authorField() {
  const input = el("input", { id: "author", name: "author", autocomplete: "name", required: true, placeholder: "e.g. Dr. Rivera",
    value: localStorage.getItem(AUTHOR_STORE) || "", oninput: (e) => localStorage.setItem(AUTHOR_STORE, e.target.value.trim()) });
  return el("p", { class: "author" }, el("label", { for: "author" }, "Your name (signs notes) "), input);
}

function author(status) {
  const input = document.getElementById("author");
  const name = input?.value.trim();
  if (!name) {
    status.textContent = "Enter your name first (it signs the note).";
    input?.focus();
  }
  return name;
}

async function send(encounter, note, status) {
  status.textContent = "Saving\u2026";
  try {
    await postNote(encounter, note);
    status.textContent = "Saved.";
    return true;
  } catch (error) {
    status.textContent = `Not saved: ${error.message}`;
    return false;
  }
}

/** Confirm / reject / relabel controls for a moment or response, with its current verdict. */
export function verdictControls(encounter, flag, model) {
  const status = el("span", { class: "save-status", role: "status" });
  const labels = flag.type === "moment" ? MOMENT_LABELS : RESPONSE_LABELS;
  const selectId = `relabel-${flag.id}`;
  const select = el("select", { id: selectId }, labels.map((l) => el("option", { value: l, selected: l === (flag.label || "neutral") }, human(l))));
  const judge = (verdict) => async () => {
    const name = author(status);
    if (!name) return;
    await send(encounter, { author: name, text: "", t0: flag.t0, t1: flag.t1, target: flag.id, verdict,
      label: verdict === "relabel" ? select.value : undefined }, status);
  };
  const current = model.verdict(flag.id);
  const what = flag.type === "moment" ? "moment" : "response";
  return el("div", { class: "verdicts", role: "group", "aria-label": `Faculty verdict on this ${what}` },
    current ? el("span", { class: `tag verdict ${current.verdict}` }, verdictText(current)) : null,
    el("button", { type: "button", class: "confirm", onclick: judge("confirm") }, "Confirm"),
    el("button", { type: "button", class: "reject", onclick: judge("reject") }, "Reject"),
    el("label", { for: selectId, class: "visually-hidden" }, `Correct ${what} label`),
    select,
    el("button", { type: "button", class: "relabel", onclick: judge("relabel") }, "Relabel"),
    status);
}

/** Speaker corrections (debrief): give one segment to the other role, or swap the encounter's two
 * roles (a room microphone's voices assigned the wrong way round). `status` shows the outcome. */
export function speakerCorrections(encounter, status) {
  const reassign = async (segment, speaker) => {
    const name = author(status);
    if (name) await send(encounter, { author: name, text: "", t0: segment.t0, t1: segment.t1, target: segment.id, verdict: "reassign", label: speaker }, status);
  };
  const swap = async () => {
    const name = author(status);
    if (name) await send(encounter, { author: name, text: "", t0: 0, t1: 0, verdict: "swap_roles" }, status);
  };
  return { reassign, swapButton: el("button", { type: "button", class: "swap-roles", onclick: swap }, "Swap patient and provider") };
}

/** A form for a note or a bookmark at `time()` (the playhead in the debrief, the live edge live). */
export function noteForm(encounter, time) {
  const status = el("span", { class: "save-status", role: "status" });
  const text = el("textarea", { id: "note-text", name: "text", rows: 2, placeholder: "What should the student hear about this moment?" });
  const when = el("span", { class: "note-time" });
  const tick = () => { when.textContent = `at ${clock(time())}`; };
  setInterval(tick, 500);
  tick();
  const save = async (bookmark) => {
    const name = author(status);
    if (!name) return;
    if (!bookmark && !text.value.trim()) {
      status.textContent = "Write a note first, or add a bookmark.";
      text.focus();
      return;
    }
    const t = time();
    if (await send(encounter, { author: name, text: bookmark ? (text.value.trim() || "") : text.value.trim(), t0: t, t1: t }, status)) text.value = "";
  };
  return el("form", { class: "note-form", onsubmit: (e) => { e.preventDefault(); save(false); } },
    el("label", { for: "note-text" }, "Note ", when), text,
    el("div", { class: "row" },
      el("button", { type: "submit" }, "Add note"),
      el("button", { type: "button", onclick: () => save(true) }, "Bookmark"),
      status));
}

/** The notes list; each note's time seeks when `onSeek` is given. */
export function renderNotes(list, model, onSeek = null) {
  const notes = model.noteList();
  list.replaceChildren(...notes.map((note) => {
    const time = onSeek
      ? el("button", { type: "button", class: "time link", "aria-label": `Play from ${clock(note.t0)}`, onclick: () => onSeek(note.t0) }, clock(note.t0))
      : el("span", { class: "time" }, clock(note.t0));
    const target = note.target ? (model.moments.get(note.target) || model.responses.get(note.target) || model.segments.get(note.target)) : null;
    const about = note.verdict ? verdictText(note) + (target ? ` (${target.type}: ${human(target.label)})` : "") : null;
    const kind = note.verdict ? "verdict" : note.text ? "note" : "bookmark";
    return el("li", { class: `note ${kind}`, dataset: { id: note.id } }, time,
      el("span", { class: "tag" }, kind),
      el("span", { class: "note-body" }, about || note.text || "Bookmark", note.verdict && note.text ? ` \u2014 ${note.text}` : null),
      el("span", { class: "author-name" }, note.verdict ? "" : ` \u2014 ${note.author}`));
  }));
  if (!notes.length) list.replaceChildren(el("li", { class: "empty" }, "No notes yet."));
}
