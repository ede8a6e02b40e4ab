"""The encounter summary: what happened at each racial challenge, from the stored events.

A scenario scripts its challenges (the patient lines that carry a `challenge` label). The SP
says them in their own words; the annotator matches a patient turn to a scripted cue line by
meaning (the moment's `challenge`), and failing that a detected moment is matched by the words
it shares with the cue, or by label, in the order they were scripted. Each challenge is
reported as detected or not, when, how the provider responded (the immediate reply, later
replies) and its responsiveness score. Moments no script asked for are listed too: SPs
improvise, and a control encounter should have none. Provider turns coded as microaggressions
with no moment before them are listed on their own.

The scenario's learning objectives and checklist are listed with the faculty's latest rating of
each (`assessment` events), or none yet.

Give it the latest events (store.database.latest): flags then quote the transcript as revised,
and each reply's latency is the one figure (transcript.reply_latency). The reply's timing cue
(`response_latency` with a moment) measures the same gap, so it is left out of `reply_cues`.
"""

from __future__ import annotations

from typing import Any

from encounter_feedback.analysis.classifier import normalize_text
from encounter_feedback.scenarios import Scenario
from encounter_feedback.taxonomy import ASSESSMENT_RATINGS

MIN_OVERLAP = 0.25
"""Share of the scripted cue's words a detected moment must contain to be that challenge."""


def summarize(events: list[dict[str, Any]], scenario: Scenario | None = None) -> dict[str, Any]:
    """Challenges (scripted vs detected), moments, responses by group, talk counts and the latest metrics."""
    events = latest_versions(events)
    moments = [e for e in events if e["type"] == "moment"]
    replies: dict[str, list[dict[str, Any]]] = {}
    for response in sorted((e for e in events if e["type"] == "response"), key=lambda e: e["t0"]):
        replies.setdefault(response.get("moment") or "", []).append(response)
    reply_cues: dict[str, dict[str, Any]] = {}
    for cue in (e for e in events if e["type"] == "cue" and e.get("moment") and e["kind"] != "response_latency"):
        reply_cues.setdefault(cue["moment"], {})[cue["kind"]] = {
            key: cue.get(key) for key in ("value", "unit", "baseline", "z", "reason")
        }
    unmatched = list(moments)
    challenges = []
    for index, line in enumerate(scenario.challenges if scenario else ()):
        moment = _match(index, line.cue, line.label, unmatched)
        if moment is not None:
            unmatched.remove(moment)
        challenges.append(_challenge(line.label, line.cue, moment, replies, reply_cues))
    groups = {"microaggression": 0, "responsive": 0, "neutral": 0}
    for response in (r for answers in replies.values() for r in answers if r.get("moment")):
        groups[response["group"]] += 1
    segments = [e for e in events if e["type"] == "segment" and e.get("final")]
    return {
        "scenario": scenario.id if scenario else None,
        "title": scenario.title if scenario else None,
        "challenges": challenges,
        "unscripted_moments": [_challenge(None, None, m, replies, reply_cues) for m in unmatched],
        "standalone_responses": [_standalone(r) for r in replies.get("", [])],
        "moments": len(moments),
        "responses": groups,
        "segments": len({s["id"] for s in segments}),
        "metrics": _latest_metrics(events),
        "objectives": objectives(events, scenario),
    }


def assessment_items(scenario: Scenario | None) -> dict[str, tuple[str, str]]:
    """The scenario's objectives and checklist items by item id (`objective-1`, `checklist-1`, ...):
    (kind, text), in the scenario's order."""
    if scenario is None:
        return {}
    lists = {"objective": scenario.objectives, "checklist": scenario.checklist}
    return {f"{kind}-{i}": (kind, text) for kind in ASSESSMENT_RATINGS for i, text in enumerate(lists[kind], 1)}


def objectives(events: list[dict[str, Any]], scenario: Scenario | None) -> list[dict[str, Any]]:
    """Each objective and checklist item with its latest rating (None: not rated), who rated it and
    where the playhead was; items rated under an earlier version of the scenario are kept as rated."""
    rated = {e["item"]: e for e in events if e["type"] == "assessment"}
    items = {item: {"kind": kind, "text": text} for item, (kind, text) in assessment_items(scenario).items()}
    for item, event in rated.items():
        items.setdefault(item, {"kind": item.split("-")[0], "text": event["text"]})
    return [
        {
            "item": item,
            **what,
            "rating": rated[item]["rating"] if item in rated else None,
            "author": rated[item]["author"] if item in rated else None,
            "t0": rated[item]["t0"] if item in rated else None,
        }
        for item, what in items.items()
    ]


def latest_versions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event id once, in its latest version, where it first appeared (a moment is sent again
    when a reply changes its responsiveness score)."""
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        by_id[event["id"]] = event
    return list(by_id.values())


def _latest_metrics(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The figures of the last `metrics` event (talk share, dominance, interruptions, ...)."""
    latest = next((e for e in reversed(events) if e["type"] == "metrics"), None)
    if latest is None:
        return None
    return {
        k: v for k, v in latest.items() if k not in ("type", "id", "encounter", "speaker", "t0", "emitted_at", "seq")
    }


def _match(index: int, cue: str, label: str, moments: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The moment matched to the challenge by its cue line, else the one that best shares the cue's
    words, else the first with the scripted label."""
    scripted = next((m for m in moments if m.get("challenge") == index), None)
    if scripted is not None:
        return scripted
    words = set(normalize_text(cue).split())
    scored = [(len(words & set(normalize_text(m["text"]).split())) / max(1, len(words)), m) for m in moments]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    if best[0] >= MIN_OVERLAP:
        return best[1]
    return next((m for m in moments if m["label"] == label), None)


def _challenge(
    label: str | None,
    cue: str | None,
    moment: dict | None,
    replies: dict[str, list[dict]],
    reply_cues: dict[str, dict],
) -> dict[str, Any]:
    """One challenge (or unscripted moment): detected or not, when, the replies' codes and score, how it sounded."""
    answers = replies.get(moment["id"], []) if moment else []
    response = next((r for r in answers if r.get("relation", "immediate") == "immediate"), None)
    later = [r for r in answers if r is not response]
    return {
        "scripted_label": label,
        "cue": cue,
        "detected": moment is not None,
        "moment": moment["id"] if moment else None,
        "label": moment["label"] if moment else None,
        "confidence": moment["confidence"] if moment else None,
        "t0": moment["t0"] if moment else None,
        "t1": moment["t1"] if moment else None,
        "text": moment["text"] if moment else None,
        "response": response["label"] if response else None,
        "group": response["group"] if response else None,
        "latency": response["latency"] if response else None,
        "reply": response["text"] if response else None,
        "later_replies": " | ".join(f"{r['label']} ({r['group']}, {r['t0']:.1f} s)" for r in later) or None,
        "responsiveness": moment.get("responsiveness") if moment else None,
        "reply_cues": reply_cues.get(moment["id"], {}) if moment else {},
    }


def _standalone(response: dict[str, Any]) -> dict[str, Any]:
    """A provider turn that was a microaggression with no moment before it."""
    return {key: response.get(key) for key in ("id", "t0", "t1", "label", "group", "confidence", "text")}


def format_summary(summary: dict[str, Any]) -> str:
    """One line per scripted challenge, unscripted moment and standalone microaggression, for the terminal."""
    lines = []
    for item in summary["challenges"]:
        head = f"challenge {item['scripted_label']}"
        lines.append(
            f"{head}: {_outcome(item)}" if item["detected"] else f"{head}: NOT DETECTED ({item['cue'][:60]!r})"
        )
    lines += [f"unscripted moment: {_outcome(item)}" for item in summary["unscripted_moments"]]
    lines += [
        f"provider remark at {_clock(item['t0'])}: {item['label']} ({item['group']}, no moment before it)"
        for item in summary["standalone_responses"]
    ]
    counts = summary["responses"]
    lines.append(
        f"{summary['moments']} moment(s); replies: {counts['responsive']} responsive, "
        f"{counts['microaggression']} microaggressive, {counts['neutral']} neutral; "
        f"{len(summary['standalone_responses'])} standalone microaggression(s)"
    )
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"


def _outcome(item: dict[str, Any]) -> str:
    reply = (
        f"response {item['response'] or 'neutral'} ({item['group']}, {item['latency']:+.1f} s)"
        if item["group"]
        else "no reply coded"
    )
    score = item["responsiveness"]
    scored = f"; responsiveness {score:+d}" if score is not None else ""
    return f"{item['label']} at {_clock(item['t0'])}; {reply}{scored}"
