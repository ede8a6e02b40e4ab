"""The codebook that goes with every export: what each file, column, label and tier means, and its unit.

A researcher who opens an export in R or ELAN months later, or a coder comparing their codes,
should not need this program to know what `latency` is measured in or what `deflecting`
means. The label definitions are those of the taxonomy (`../shared/spec/taxonomy.md`).
"""

from __future__ import annotations

import csv
import io

from encounter_feedback.taxonomy import (
    ASSESSMENT_RATINGS,
    MICROAGGRESSIONS,
    MOMENT_LABELS,
    NOTE_TAGS,
    RESPONSE_LABELS,
    RESPONSIVE,
    RESPONSIVENESS_SCALE,
    group_of,
)

FORMATS = ("csv", "jsonl", "vtt", "srt", "textgrid", "eaf")
"""The export formats (`--format`); codebook.csv, encounters.csv, challenges.csv and objectives.csv come
with every one."""

COLUMNS = ("section", "name", "group", "definition", "unit")

FILES = {
    "codebook.csv": "this codebook",
    "encounters.csv": "one row per encounter: scenario and research metadata "
    "(blind: participant coded, condition withheld)",
    "challenges.csv": "one row per scripted challenge (detected or not, when, the response) and per unscripted moment",
    "objectives.csv": "one row per learning objective and checklist item of each encounter's scenario, "
    "with the faculty's latest rating from the debrief",
    "events.csv": "format csv: one row per annotation event of every encounter "
    "(tidy; join encounters.csv on encounter)",
    "events.jsonl": "format jsonl: one annotation event per line, schema v1 (../shared/spec/events.md), words included",
    "ENCOUNTER/transcript.vtt": "format vtt: WebVTT captions, one cue per utterance, "
    "speaker as the voice (<v Patient>)",
    "ENCOUNTER/transcript.srt": "format srt: SubRip captions, one cue per utterance, 'Speaker: text'",
    "ENCOUNTER/annotations.TextGrid": "format textgrid: Praat TextGrid (long), interval tiers below, "
    "gaps as empty intervals",
    "ENCOUNTER/annotations.eaf": "format eaf: ELAN 3.0 file with the tiers below and the recordings linked as media",
}

EVENT_COLUMNS = {
    "encounter": ("encounter id (random; join key)", ""),
    "id": ("event id, unique within the encounter", ""),
    "type": ("segment | moment | response | cue | metrics | note | assessment | status", ""),
    "speaker": ("patient | provider | unknown (unknown: one mixed track)", ""),
    "t0": ("start on the encounter audio clock (0 = first audio sample)", "s"),
    "t1": ("end on the encounter audio clock", "s"),
    "label": ("moment or response label (see the label sections), or a note's corrected label", ""),
    "group": ("response group: microaggression | responsive | neutral", ""),
    "confidence": (
        "calibrated probability that the code is right: of codes given 0.8, about 8 in 10 were right on held-out text",
        "probability 0-1",
    ),
    "text": (
        "segment: the words recognised; moment/response: the turn quoted (its segments' latest revision); "
        "note: the faculty note; assessment: the objective or checklist item rated",
        "",
    ),
    "segment": ("id of the (last) segment the moment or response was coded on", ""),
    "segments": ("ids of all segments of the turn, space-separated", ""),
    "moment": ("response: id of the moment it answers (empty: a standalone microaggression)", ""),
    "latency": (
        "response: from the moment's end to the reply's start, on the latest transcript "
        "(negative: started before the patient finished)",
        "s",
    ),
    "relation": (
        "response: immediate (the provider's first turn after the moment), later (a later turn in the "
        "moment's window, coded when it earns a label) or standalone (no moment before it: the turn is "
        "itself a microaggression)",
        "",
    ),
    "challenge": ("moment: index (0 = first) of the scenario's scripted challenge whose cue line it says", ""),
    "revealed": (
        "moment: true when it was flagged only because the provider's reply answered the turn as a challenge "
        "(race-themed case; the turn alone was under the threshold)",
        "",
    ),
    "responsiveness": (
        "moment: the seed study's responsiveness score of the provider's replies (see the responsiveness section)",
        "-3 to +3",
    ),
    "kind": ("cue kind (see the cue section)", ""),
    "value": ("cue value", "the row's unit column"),
    "unit": ("unit of the cue value", ""),
    "baseline": ("cue: the speaker's own baseline the value is compared with", "the row's unit column"),
    "author": ("note: who wrote it", ""),
    "target": ("note: id of the event the note judges", ""),
    "verdict": ("note: confirm | reject | relabel (a flag), reassign (a segment's speaker) | swap_roles", ""),
    "tags": ("note: predefined tags, space-separated (see the note tag section)", ""),
    "state": ("status: started, track_added, track_ended, finished, degraded, recovered, error", ""),
    "message": ("status: what happened", ""),
    "revision": ("segment: 0 live final, 1 second pass (only the latest of an id is exported)", ""),
    "avg_logprob": ("segment: mean log probability of the recognised tokens", "log probability"),
    "emitted_at": ("server wall-clock time the event was produced", "Unix time, s"),
    "extra": ("other fields as JSON (e.g. metrics values, cue detail)", ""),
}

ENCOUNTER_COLUMNS = {
    "encounter": ("encounter id", ""),
    "scenario": ("scenario id (scenarios/<id>.yaml)", ""),
    "participant": (
        "participant id; blind exports: a stable code (HMAC of the id with the data directory's secret)",
        "",
    ),
    "cohort": ("cohort", ""),
    "condition": ("study condition; withheld (no column) in blind exports", ""),
    "station": ("exam room or station", ""),
    "session": ("session", ""),
    "created_at": ("when the encounter was created", "ISO 8601, UTC"),
    "finished_at": ("when it finished (empty: not finished)", "ISO 8601, UTC"),
    "duration": ("length of the encounter audio", "s"),
}

CHALLENGE_COLUMNS = {
    "encounter": ("encounter id", ""),
    "scripted_label": ("the moment label the scenario scripts; empty: an unscripted moment", ""),
    "cue": ("the scripted cue line", ""),
    "detected": ("whether a moment was detected for the challenge", "true/false"),
    "moment": ("id of the matched moment event", ""),
    "label": ("label of the detected moment", ""),
    "t0": ("start of the detected moment", "s"),
    "t1": ("end of the detected moment", "s"),
    "text": ("the patient turn as transcribed", ""),
    "response": ("response label of the provider's reply (empty: neutral)", ""),
    "group": ("response group", ""),
    "latency": ("from the moment's end to the reply's start (the events' response latency)", "s"),
    "reply": ("the provider's reply as transcribed", ""),
    "confidence": ("calibrated probability that the detected moment's label is right", "probability 0-1"),
    "later_replies": ("later coded turns in the moment's window: 'label (group, t0 s)', separated by ' | '", ""),
    "responsiveness": ("the system's responsiveness score for the challenge (empty: no reply)", "-3 to +3"),
    "interrupted_disclosure": ("times the provider interrupted the patient's moment turn", "count"),
    "reply_speech_rate_z": ("the reply's speech rate against the provider's own utterances", "z-score"),
    "reply_pitch_z": ("the reply's mean F0 against the provider's own utterances", "z-score"),
    "reply_pitch_variability_z": ("the reply's F0 SD against the provider's own utterances", "z-score"),
    "reply_loudness_z": ("the reply's loudness against the provider's own utterances", "z-score"),
}

MOMENTS = {
    "discrimination_disclosure": "recounts unfair treatment linked to race, in health care or elsewhere",
    "mistrust": "distrust of clinicians or medicine grounded in race or history",
    "provider_bias_challenge": "asks or tests whether this provider will be biased or take them seriously",
    "identity_statement": "centers their racial or cultural identity in their care or experience",
    "stereotype_reaction": "pushes back on an assumption or stereotype applied to them",
}

RESPONSES = {
    "colorblind": "denies race matters: 'I don't see color', 'I treat everyone the same'",
    "minimizing": "doubts or shrinks the experience: 'I'm sure they didn't mean it'",
    "defensive": "defends self or profession: 'not all doctors', 'I'm not racist'",
    "deflecting": "ignores a moment just raised and moves on: 'OK. Any allergies?'",
    "pathologizing": "frames the patient's reaction as the problem: 'let's calm down'",
    "stereotyping": "acts on a racial assumption: affordability, drugs, 'so articulate'",
    "meritocracy": "'anyone can get good care if they advocate for themselves'",
    "validation": "affirms the experience is real and wrong: 'that should never have happened'",
    "empathy": "names or feels with the patient's emotion: 'I'm so sorry, that sounds painful'",
    "exploration": "invites more: 'can you tell me more about what happened?'",
    "accountability": "acknowledges racism in medicine or own blind spots, apologizes",
    "commitment": "partnership and a concrete promise for this visit",
}

GROUPS = {
    "microaggression": f"microaggressive or invalidating responses: {', '.join(MICROAGGRESSIONS)}",
    "responsive": f"responsive responses: {', '.join(RESPONSIVE)}",
    "neutral": "ordinary clinical talk (no response label; 'neutral' in the responses tier)",
}

CUES = {
    "prosody": "how one utterance sounded: value mean F0 (st re 27.5 Hz); detail: F0 SD and range (st), "
    "loudness (dBFS), speech and articulation rate (syllables/s)",
    "response_latency": "gap before a speaker took the floor (s; negative: they started just before the other ended)",
    "interruption": "a speaker took the floor while the other was speaking (value: overlap, s)",
    "backchannel": "short acknowledgement while the other holds the floor, 'mm-hm' (value: its duration, s)",
    "overlap": "a speaker talked over the other without getting the floor (s)",
    "long_pause": "a silence of 3 s or more between speakers (s)",
    "opening_interruption": (
        "time from the start of the patient's opening statement to the provider's first interruption (s)"
    ),
    "interrupted_disclosure": "times the provider interrupted a moment turn (count)",
    "speech_rate": "the reply to a moment: speech rate (syllables/s) against the provider's baseline (z)",
    "pitch": "the reply to a moment: mean F0 (st) against the provider's baseline (z)",
    "pitch_variability": "the reply to a moment: F0 SD (st) against the provider's baseline (z)",
    "loudness": "the reply to a moment: loudness (dBFS) against the provider's baseline (z)",
}

TIERS = {
    "patient": "patient speech, one interval per utterance (text)",
    "provider": "provider speech, one interval per utterance (text)",
    "unknown": "speech of a mixed track (who spoke is unknown)",
    "moments": "racially charged patient turns (moment label)",
    "responses": "coded provider turns: each moment's immediate reply ('neutral' when none), later replies "
    "and standalone microaggressions (response label)",
    "cues": "prosodic and turn-taking cues ('kind value unit')",
    "notes": "faculty notes ('author: text', with a judgement on another event if any)",
    "NAME 2, NAME 3, ...": "overlapping intervals of tier NAME (both tools forbid overlaps within a tier)",
}


OBJECTIVE_COLUMNS = {
    "encounter": ("encounter id", ""),
    "item": ("objective-N or checklist-N, counted from 1 in the scenario's order", ""),
    "kind": ("objective | checklist", ""),
    "text": ("the objective or checklist item as the scenario words it", ""),
    "rating": ("the faculty's latest rating (see the rating section); empty: not rated", ""),
    "author": ("who rated it", ""),
    "t0": ("the playhead when it was rated", "s"),
}


def codebook_csv(blind: bool) -> str:
    """The codebook as CSV (section, name, group, definition, unit)."""
    rows = [("file", name, "", text, "") for name, text in FILES.items()]
    for section, columns in (
        ("events.csv", EVENT_COLUMNS),
        ("encounters.csv", ENCOUNTER_COLUMNS),
        ("challenges.csv", CHALLENGE_COLUMNS),
        ("objectives.csv", OBJECTIVE_COLUMNS),
    ):
        rows += [(section, name, "", text, unit) for name, (text, unit) in columns.items()]
    rows += [("moment", label, "", MOMENTS[label], "") for label in MOMENT_LABELS]
    rows += [("response", label, group_of(label), RESPONSES[label], "") for label in RESPONSE_LABELS]
    rows += [("group", name, "", text, "") for name, text in GROUPS.items()]
    rows += [("cue", kind, "", text, "the event's unit field") for kind, text in CUES.items()]
    rows += [("tier", name, "", text, "s") for name, text in TIERS.items()]
    rows += [("note tag", tag, "", text, "") for tag, text in NOTE_TAGS.items()]
    rows += [
        ("rating", rating, kind, text, "")
        for kind, ratings in ASSESSMENT_RATINGS.items()
        for rating, text in ratings.items()
    ]
    rows += [("responsiveness", f"{score:+d}", "", anchor, "") for score, anchor in RESPONSIVENESS_SCALE.items()]
    rows.append(
        (
            "blinding",
            "blind",
            "",
            "participant ids replaced by stable codes; condition and other metadata "
            "withheld; media linked by encounter and role"
            if blind
            else "not blind: metadata as recorded",
            "",
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
