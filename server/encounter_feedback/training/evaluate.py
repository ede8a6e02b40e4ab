"""How good the classifier is: metrics on a labelled split, and false alarms on real clinical talk.

False alarms are counted over the patient turns of real clinical dialogue in which essentially
no racially charged moment occurs (ACI-Bench and MTS-Dialog, `../shared/data/clinical-transcripts`),
and expressed per hour of talk at 150 words a minute, so the figure says how often faculty
would see a wrong flag. `encounter train --compare` and `encounter bench moments` both use it.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from encounter_feedback.analysis.classifier import NONE, Classifier
from encounter_feedback.taxonomy import GROUPS, MOMENT_LABELS, RESPONSE_LABELS, group_of
from encounter_feedback.training.corpus import Item


def label_name(value: str | None) -> str:
    """A label as the models name it: `none` for None."""
    return NONE if value is None else value


def evaluate(classifier: Classifier, items: list[Item]) -> dict[str, Any]:
    """Held-out metrics: moment detection, moment labels, response labels and groups, calibration."""
    patients = [i for i in items if i.speaker == "patient"]
    providers = [i for i in items if i.speaker == "provider"]
    moments = classifier.code_patient_turns([i.text for i in patients])
    responses = classifier.code_replies([i.text for i in providers], [i.context for i in providers])
    truth_m = [label_name(i.moment) for i in patients]
    pred_m = [label_name(c.moment) for c in moments]
    truth_r = [label_name(i.response) for i in providers]
    pred_r = [label_name(c.response) for c in responses]
    detected = [label != NONE for label in pred_m]
    p_moment = classifier.moment_probability([i.text for i in patients])
    return {
        "items": {"patient": len(patients), "provider": len(providers)},
        "moment_detection": _binary([t != NONE for t in truth_m], detected),
        "moment_labels": _perlabel_name(truth_m, pred_m, (NONE, *MOMENT_LABELS)),
        "moment_brier": round(float(np.mean((p_moment - np.array([t != NONE for t in truth_m])) ** 2)), 4),
        "response_labels": _perlabel_name(truth_r, pred_r, (NONE, *RESPONSE_LABELS)),
        "response_groups": _perlabel_name([_group(t) for t in truth_r], [_group(p) for p in pred_r], GROUPS),
    }


def _group(label: str) -> str:
    return group_of(None if label == NONE else label)


def _binary(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    return {
        "precision": round(float(p), 4),
        "recall": round(float(r), 4),
        "f1": round(float(f), 4),
        "support": int(sum(truth)),
    }


def _perlabel_name(truth: list[str], predicted: list[str], labels: tuple[str, ...]) -> dict[str, Any]:
    p, r, f, n = precision_recall_fscore_support(truth, predicted, labels=list(labels), zero_division=0)
    per = {
        label: {
            "precision": round(float(p[i]), 4),
            "recall": round(float(r[i]), 4),
            "f1": round(float(f[i]), 4),
            "support": int(n[i]),
        }
        for i, label in enumerate(labels)
    }
    accuracy = float(np.mean([a == b for a, b in zip(truth, predicted)])) if truth else 0.0
    return {"macro_f1": round(float(np.mean(f)), 4), "accuracy": round(accuracy, 4), "labels": per}


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


def format_metrics(metrics: dict[str, Any]) -> str:
    """Held-out metrics as a readable table."""
    d = metrics["moment_detection"]
    alarms = metrics.get("false_alarms_per_hour")
    lines = [] if alarms is None else [f"false alarms on clinical dialogue: {alarms:.2f} per hour"]
    lines += [
        f"held-out: {metrics['items']['patient']} patient and {metrics['items']['provider']} provider items",
        f"moment detection (moment vs none): P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
        f"  (Brier {metrics['moment_brier']:.3f})",
        f"moment labels: macro-F1 {metrics['moment_labels']['macro_f1']:.3f}"
        f"  accuracy {metrics['moment_labels']['accuracy']:.3f}",
        f"response groups: macro-F1 {metrics['response_groups']['macro_f1']:.3f}"
        f"  accuracy {metrics['response_groups']['accuracy']:.3f}",
        f"response labels: macro-F1 {metrics['response_labels']['macro_f1']:.3f}"
        f"  accuracy {metrics['response_labels']['accuracy']:.3f}",
        "",
        f"{'label':28s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}",
    ]
    for table in ("moment_labels", "response_groups", "response_labels"):
        for label, row in metrics[table]["labels"].items():
            lines.append(
                f"{label:28s} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} {row['support']:5d}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()
