"""`encounter bench moments`: held-out accuracy, false alarms on ordinary clinical talk, and speed.

False alarms are counted over the patient turns of real clinical dialogue in which essentially
no racially charged moment occurs (ACI-Bench and MTS-Dialog, `../shared/data/clinical-transcripts`),
and expressed per hour of talk at 150 words a minute, so the figure says how often faculty
would see a wrong flag. Every flagged turn is listed, so the figure can be checked by reading.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from encounter_feedback.analysis.classifier import Classifier
from encounter_feedback.training.corpus import load_split
from encounter_feedback.training.evaluate import (
    WORDS_PER_MINUTE,
    Turn,
    evaluate,
    false_alarms,
    format_metrics,
    patient_turns,
)


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
        lines.append(
            f"false alarms: {len(alarms.flagged)} moments in {alarms.turns} patient turns, {alarms.words} words "
            f"= {alarms.hours:.1f} h at {WORDS_PER_MINUTE} words/min -> {alarms.per_hour:.2f} per hour"
        )
        for turn, label, confidence in alarms.flagged:
            lines.append(f"  {confidence:.2f} {label:26s} {turn.source}: {turn.text[:160]}")
    progress("latency")
    median, p95 = latency_ms(classifier, turns)
    lines.append(f"latency per utterance: median {median:.1f} ms, p95 {p95:.1f} ms (one at a time, CPU)")
    return "\n".join(lines)
