// Faculty annotation: verdicts on flags (confirm, reject, relabel), notes with tags, bookmarks.
//
// Everything is posted as a `note` event (POST /api/encounters/{id}/notes). The page does not
// draw its own note: the server sends it back over the WebSocket, to this viewer and every other
// one at the same moment, and the views redraw from there.
//
// A note is about something: a moment, a reply or a transcript line (`target`), or just a time.
// The form offers what is at the playhead (or the live edge) and what a card's "Note on ..."
// button pinned, and keeps the note's span on the event it is about.

import { postNote } from "./api.js";
import { clock, el, human, speakerName } from "./dom.js";
import { MOMENT_LABELS, NOTE_TAGS, RESPONSE_LABELS } from "./taxonomy.js";
import { verdictText } from "./transcript.js";

const AUTHOR_STORE = "encounter-feedback.author";

/** The "Your name" field every annotation is signed with (remembered in this browser). */
export function authorField() {
  const input = el("input", { id: "author", name: "author", autocomplete: "name", required: true, placeholder: "e.g. Dr. Rivera",
    value: localStorage.getItem(AUTHOR_STORE) || "", oninput: (e) => localStorage.setItem(AUTHOR_STORE, e.target.value.trim()) });
  return el("p", { class: "author" }, el("label", { for: "author" }, "Your name (signs notes) "), input);
}

/** The signing name, or null after asking for it in `status`. */
export function author(status) {
  const input = document.getElementById("author");
  const name = input?.value.trim();
  if (!name) {
    status.textContent = "Enter your name first (it signs the note).";
    input?.focus();
  }
  return name;
}

/** Post with `save` and say how it went in `status`; true when saved. */
export async function send(save, status) {
  status.textContent = "Saving\u2026";
  try {
    await save();
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
    await send(() => postNote(encounter, { author: name, text: "", t0: flag.t0, t1: flag.t1, target: flag.id, verdict,
      label: verdict === "relabel" ? select.value : undefined }), status);
  };
  const current = model.verdict(flag.id);
  const what = flag.type === "moment" ? "moment" : "reply";
  return el("div", { class: "verdicts", role: "group", "aria-label": `Faculty verdict on this ${what}` },
    el("strong", { class: "muted" }, `${what[0].toUpperCase()}${what.slice(1)}:`),
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
  const correct = (note) => {
    const name = author(status);
    if (name) send(() => postNote(encounter, { author: name, text: "", ...note }), status);
  };
  return {
    reassign: (segment, speaker) => correct({ t0: segment.t0, t1: segment.t1, target: segment.id, verdict: "reassign", label: speaker }),
    swapButton: el("button", { type: "button", class: "swap-roles", onclick: () => correct({ t0: 0, t1: 0, verdict: "swap_roles" }) },
      "Swap patient and provider"),
  };
}

/** What a note can be about, as an option: {id, t0, t1, text}. */
export function aboutOption(event) {
  if (event.type === "moment") return { id: event.id, t0: event.t0, t1: event.t1, text: `the moment at ${clock(event.t0)} (${human(event.label)})` };
  if (event.type === "response") return { id: event.id, t0: event.t0, t1: event.t1, text: `the reply at ${clock(event.t0)} (${human(event.label)})` };
  const words = event.text.split(/\s+/);
  return { id: event.id, t0: event.t0, t1: event.t1,
    text: `the line at ${clock(event.t0)} (${speakerName(event.speaker)}: \u201c${words.slice(0, 5).join(" ")}${words.length > 5 ? "\u2026" : ""}\u201d)` };
}

/**
 * The note form: what it is about, tags (keys 1, 2, ... outside text fields; Alt+digit inside),
 * free text (Ctrl+Enter saves) and a bookmark. `time()`: the playhead or the live edge;
 * `around(t)`: the events a note could be about at time t, most specific first.
 * Returns {form, pin(event), toggleTag(i), focus()}.
 */
export function noteForm(encounter, { time, around }) {
  const status = el("span", { class: "save-status", role: "status" });
  const text = el("textarea", { id: "note-text", name: "text", rows: 2, placeholder: "What should the student hear about this?" });
  const about = el("select", { id: "note-about", name: "about" });
  const when = el("span", { class: "note-time" });
  const tags = Object.entries(NOTE_TAGS).map(([tag, meaning], i) => el("button", {
    type: "button", class: "note-tag", "aria-pressed": "false", title: `${meaning} (key ${i + 1})`, dataset: { tag },
    onclick: (e) => toggle(e.currentTarget),
  }, el("kbd", {}, String(i + 1)), ` ${human(tag)}`));
  let pinned = null, options = [];

  const toggle = (button) => button.setAttribute("aria-pressed", String(button.getAttribute("aria-pressed") !== "true"));
  const chosen = () => options.find((o) => o.id === about.value) || null;

  /** Offer what is at the playhead; keep the choice while it is still offered. */
  const refresh = () => {
    const t = time();
    when.textContent = `at ${clock(t)}`;
    const fresh = [...(pinned ? [pinned] : []), ...around(t).map(aboutOption).filter((o) => o.id !== pinned?.id)];
    const key = fresh.map((o) => `${o.id}|${o.text}`).join(";");
    if (key === about.dataset.key) return;
    const keep = about.value;
    about.dataset.key = key;
    options = fresh;
    about.replaceChildren(...options.map((o) => el("option", { value: o.id }, o.text)),
      el("option", { value: "" }, `no event: just the time (${clock(t)})`));
    const stillOffered = keep === "" || options.some((o) => o.id === keep);
    about.value = about.dataset.chosen && stillOffered ? keep : (options[0]?.id ?? "");
  };
  about.addEventListener("change", () => { about.dataset.chosen = "true"; });
  setInterval(refresh, 500);

  const save = async (bookmark) => {
    const name = author(status);
    if (!name) return;
    const picked = tags.filter((b) => b.getAttribute("aria-pressed") === "true").map((b) => b.dataset.tag);
    if (!bookmark && !text.value.trim() && !picked.length) {
      status.textContent = "Write a note or pick a tag first, or add a bookmark.";
      text.focus();
      return;
    }
    const target = chosen(), t = time();
    const note = { author: name, text: text.value.trim(), tags: picked, t0: target ? target.t0 : t, t1: target ? target.t1 : t };
    if (target) note.target = target.id;
    if (await send(() => postNote(encounter, note), status)) {
      text.value = "";
      for (const b of tags) b.setAttribute("aria-pressed", "false");
      pinned = null;
      delete about.dataset.chosen;
      refresh();
    }
  };
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(false); }
    else if (e.altKey && /^[1-9]$/.test(e.key) && tags[Number(e.key) - 1]) { e.preventDefault(); toggle(tags[Number(e.key) - 1]); }
  });
  const form = el("form", { class: "note-form", onsubmit: (e) => { e.preventDefault(); save(false); } },
    el("div", { class: "about-row" }, el("label", { for: "note-about" }, "About "), about),
    el("div", { class: "note-tags", role: "group", "aria-label": "Tags (keys 1 to 5)" }, tags),
    el("label", { for: "note-text", class: "note-label" }, "Note ", when), text,
    el("div", { class: "row" },
      el("button", { type: "submit", class: "primary" }, "Add note"),
      el("button", { type: "button", onclick: () => save(true) }, "Bookmark"),
      el("span", { class: "muted keys-hint" }, "Ctrl+Enter saves"),
      status));
  refresh();
  return {
    form,
    /** Make the note about `event` (a card's "Note on the reply") and put the cursor in the text. */
    pin(event) {
      pinned = aboutOption(event);
      about.dataset.chosen = "true";
      refresh();
      about.value = pinned.id;
      text.focus();
    },
    toggleTag(index) {
      if (tags[index]) toggle(tags[index]);
    },
    focus() {
      text.focus();
    },
  };
}

/** A note's tags and text as one line: "[validated] [ask about this] Good repair." */
export function noteWords(note) {
  return [...(note.tags || []).map((t) => `[${human(t)}]`), note.text].filter(Boolean).join(" ");
}

/** The notes list; each note's time seeks when `onSeek` is given. */
export function renderNotes(list, model, onSeek = null) {
  const notes = model.noteList();
  list.replaceChildren(...notes.map((note) => {
    const { t0 } = model.noteTime(note);
    const time = onSeek
      ? el("button", { type: "button", class: "time link", "aria-label": `Play from ${clock(t0)}`, onclick: () => onSeek(t0) }, clock(t0))
      : el("span", { class: "time" }, clock(t0));
    const target = model.target(note);
    const on = target ? ` (on ${aboutOption(target).text})` : "";
    const kind = note.verdict ? "verdict" : note.text || note.tags?.length ? "note" : "bookmark";
    const body = note.verdict ? `${verdictText(note)}${on}${note.text ? ` \u2014 ${note.text}` : ""}` : `${noteWords(note) || "Bookmark"}${on}`;
    return el("li", { class: `note ${kind}`, dataset: { id: note.id } }, time,
      el("span", { class: "tag" }, kind),
      el("span", { class: "note-body" }, body),
      el("span", { class: "author-name" }, note.verdict ? "" : ` \u2014 ${note.author}`));
  }));
  if (!notes.length) list.replaceChildren(el("li", { class: "empty" }, "No notes yet."));
}
