"""`encounter bench moments`: held-out accuracy, false alarms on ordinary clinical talk, and speed.

False alarms are counted over the patient turns of real clinical dialogue in which essentially
no racially charged moment occurs (ACI-Bench and MTS-Dialog, `../shared/data/clinical-transcripts`),
and expressed per hour of talk at 150 words a minute, so the figure says how often faculty
would see a wrong flag. Every flagged turn is listed, so the figure can be checked by reading.
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from server.corpus import load_split
from server.moments import Classifier
from server.train import evaluate, format_metrics

WORDS_PER_MINUTE = 150
_SPEAKER = re.compile(r"^\s*(?:\[(?P<tag>[a-z_ ]+)\]|(?P<name>[A-Za-z_ ]+):)\s*(?P<text>.*)$")


@dataclass(frozen=True)
class Turn:
    source: str
    text: str


def patient_turns(directory: Path) -> list[Turn]:
    """Patient turns of every dialogue in the CSV files under `directory` (a `dialogue` column),
    in ACI-Bench (`[patient] ...`) or MTS-Dialog (`Patient: ...`) form; repeated dialogues once."""
    csv.field_size_limit(sys.maxsize)
    turns: list[Turn] = []
    seen: set[str] = set()
    for path in sorted(directory.rglob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                dialogue = row.get("dialogue")
                if not dialogue or dialogue in seen:
                    continue
                seen.add(dialogue)
                turns += [Turn(path.name, text) for text in _patient_lines(dialogue)]
    return turns


def _patient_lines(dialogue: str) -> list[str]:
    """The patient's turns; a line without a speaker continues the turn before it."""
    turns: list[tuple[str, str]] = []
    for line in dialogue.splitlines():
        match = _SPEAKER.match(line)
        if match:
            speaker = (match["tag"] or match["name"]).strip().lower()
            turns.append((speaker, match["text"]))
        elif turns and line.strip():
            turns[-1] = (turns[-1][0], turns[-1][1] + " " + line.strip())
    return [text.strip() for speaker, text in turns if speaker == "patient" and text.strip()]


@dataclass(frozen=True)
class FalseAlarms:
    turns: int
    words: int
    flagged: list[tuple[Turn, str, float]]

    @property
    def hours(self) -> float:
        return self.words / WORDS_PER_MINUTE / 60

    @property
    def per_hour(self) -> float:
        return len(self.flagged) / self.hours if self.words else 0.0


def false_alarms(classifier: Classifier, turns: list[Turn]) -> FalseAlarms:
    codes = classifier.code_patient_turns([t.text for t in turns])
    flagged = [(turn, code.moment, code.confidence) for turn, code in zip(turns, codes) if code.moment is not None]
    return FalseAlarms(len(turns), sum(len(t.text.split()) for t in turns), flagged)


def latency_ms(classifier: Classifier, turns: list[Turn], n: int = 300) -> tuple[float, float]:
    """Median and p95 milliseconds to code one utterance alone (as the live server does)."""
    sample = [t.text for t in turns[:n]] or ["I went to the emergency room and they sent me home."] * n
    times = []
    for text in sample:
        start = time.perf_counter()
        classifier.classify("patient", text)
        classifier.classify("provider", text, context=text)
        times.append((time.perf_counter() - start) * 1000 / 2)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def bench_moments(
    classifier: Classifier, transcripts: Path | None, progress: Callable[[str], None] = lambda _: None
) -> str:
    """The report: held-out metrics, false alarms per hour of clinical talk, latency per utterance."""
    progress("held-out split")
    lines = [format_metrics(evaluate(classifier, load_split("test"))), ""]
    turns: list[Turn] = []
    if transcripts is not None:
        progress("clinical transcripts")
        turns = patient_turns(transcripts)
        alarms = false_alarms(classifier, turns)
        lines.append(f"false alarms: {len(alarms.flagged)} moments in {alarms.turns} patient turns, {alarms.words} words "
                     f"= {alarms.hours:.1f} h at {WORDS_PER_MINUTE} words/min -> {alarms.per_hour:.2f} per hour")
        for turn, label, confidence in alarms.flagged:
            lines.append(f"  {confidence:.2f} {label:26s} {turn.source}: {turn.text[:160]}")
    progress("latency")
    median, p95 = latency_ms(classifier, turns)
    lines.append(f"latency per utterance: median {median:.1f} ms, p95 {p95:.1f} ms (one at a time, CPU)")
    return "\n".join(lines)
