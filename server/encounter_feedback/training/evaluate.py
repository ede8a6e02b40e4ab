"""How good the classifier is: metrics on a labelled set, and false alarms on real clinical talk.

A labelled set (a corpus split, or a set written outside the project) is scored on:

- **moments**, per case: a patient item is read in each case it has a label for
  (`Item.moment_in`); in a race-themed case with the scripted cue lines of its scenario, if
  it names one. Detection (moment vs none), labels, and how well the confidence of what is
  flagged matches how often it is right (expected calibration error, ECE);
- **responses**, the reply coder on its own: each provider item coded as the item declares its
  context, the first reply to a moment when its context is one (`Item.answers_moment`) and
  screened for a microaggression of its own when not, as the live annotator codes a turn once
  the moment before it is flagged (labels and groups);
- **responses end to end**, as `encounter classify` codes them: the context first read as a
  patient turn, the item coded as a reply only when that is flagged as a moment. Read in the
  item's case, and in a race-themed case when it names none: a corpus reply's label holds
  wherever its context is a moment, and a challenge with no race word is one only there;
- **standalone**: provider items whose context is not a moment (`category` `standalone`),
  screened as the live annotator screens such turns: is it a microaggression of its own?
- **non-racial bias**: the share of accounts of sexism, homophobia, ableism, ... (patient items
  with another `category`) flagged as racially charged moments.

False alarms are counted over the turns of real clinical dialogue in which essentially no
racially charged moment occurs (`../shared/data/clinical-transcripts`), per hour of the
speaker's talk at 150 words a minute, so the figure says how often faculty would see a wrong
flag. MTS-Dialog's training set gives the training negatives, its other sets the dev false
alarms thresholds are chosen on, and ACI-Bench, never trained or tuned on, the reported figure.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from encounter_feedback.analysis.classifier import GENERAL, NONE, CaseContext, Classifier, Coding, case_context_of
from encounter_feedback.scenarios import Scenario, find_scenario
from encounter_feedback.taxonomy import CASES, GROUPS, MOMENT_LABELS, RESPONSE_LABELS, group_of
from encounter_feedback.training.corpus import Item

NOT_BIAS = ("standalone",)
"""Categories that are not accounts of non-racial bias."""
VALIDATING = "That's not okay, and I'm sorry that happened to you."
"""The reply an account of unfair treatment most often gets. An account of non-racial bias the
provider validates must not become a racially charged moment by its reply either
(`Classifier.revealed_moments`): it is read with this reply after it, too."""


def label_name(value: str | None) -> str:
    """A label as the models name it: `none` for None."""
    return NONE if value is None else value


def case_items(items: Iterable[Item], case: str) -> list[tuple[Item, str]]:
    """The patient items that say what they are in `case`, with that label (`none` for None)."""
    out = []
    for item in items:
        if item.speaker == "patient":
            applies, label = item.moment_in(case)
            if applies:
                out.append((item, label_name(label)))
    return out


def code_moments(classifier: Classifier, items: list[Item], case: str) -> list[tuple[str, float]]:
    """(label, confidence) per item read in `case`; in a race-themed case an item naming a scenario
    is read with that scenario's scripted cues."""
    contexts: dict[str | None, CaseContext] = {None: CaseContext(case)}
    if case == "race_themed":
        for scenario in {i.scenario for i in items if i.scenario}:
            contexts[scenario] = case_context_of(find_scenario(scenario))
    out: list[tuple[str, float] | None] = [None] * len(items)
    for key, context in contexts.items():
        indices = [n for n, i in enumerate(items) if (i.scenario if case == "race_themed" else None) == key]
        codes = classifier.code_patient_turns([items[n].text for n in indices], context)
        for n, code in zip(indices, codes):
            out[n] = (label_name(code.moment), code.confidence)
    return [o for o in out if o is not None]


def evaluate(classifier: Classifier, items: list[Item]) -> dict[str, Any]:
    """Moments per case, responses, standalone screening and non-racial bias (see the module doc)."""
    metrics: dict[str, Any] = {"items": {"patient": 0, "provider": 0}}
    for item in items:
        metrics["items"][item.speaker] += 1
    metrics["moments"] = {}
    for case in CASES:
        pairs = case_items(items, case)
        if pairs:
            coded = code_moments(classifier, [i for i, _ in pairs], case)
            metrics["moments"][case] = _moment_metrics([t for _, t in pairs], coded)
    providers = [i for i in items if i.speaker == "provider"]
    if providers:
        truth = [label_name(i.response) for i in providers]
        texts, contexts = [i.text for i in providers], [i.context for i in providers]
        declared = [i.answers_moment() for i in providers]  # the reply coder alone: contexts not read
        replies = classifier.code_provider_turns(texts, contexts, GENERAL, declared)
        predicted = [label_name(c.response) for c in replies]
        metrics["response_labels"] = per_label(truth, predicted, (NONE, *RESPONSE_LABELS))
        metrics["response_groups"] = _groups(truth, predicted)
        end_to_end = [label_name(c.response) for c in code_provider_items(classifier, providers, "race_themed")]
        metrics["end_to_end_groups"] = _groups(truth, end_to_end)
    standalone = [i for i in providers if i.category == "standalone"]
    if standalone:
        codes = classifier.code_replies([i.text for i in standalone], [i.context for i in standalone], "standalone")
        metrics["standalone"] = binary(
            [i.response is not None for i in standalone], [c.response is not None for c in codes]
        )
    bias = [i for i in items if i.speaker == "patient" and is_nonracial_account(i)]
    if bias:
        metrics["nonracial_bias_flagged"] = {
            case: round(float(np.mean([label != NONE for label, _ in code_moments(classifier, bias, case)])), 4)
            for case in CASES
        }
        metrics["nonracial_bias_items"] = len(bias)
        metrics["nonracial_bias_validated"] = round(float(np.mean(_flagged_when_validated(classifier, bias))), 4)
    return metrics


def _flagged_when_validated(classifier: Classifier, accounts: list[Item]) -> list[bool]:
    """Per account, whether a race-themed case flags it, on its own or once the provider validates it."""
    codes = classifier.code_answered_turns(
        [i.text for i in accounts], [VALIDATING] * len(accounts), CaseContext("race_themed")
    )
    return [code.moment is not None for code in codes]


def is_nonracial_account(item: Item) -> bool:
    """Whether a patient item is an account of unfair treatment on another ground (its `category`)."""
    return bool(item.category) and item.category not in NOT_BIAS


def code_provider_items(classifier: Classifier, items: list[Item], default_case: str = "general") -> list[Coding]:
    """Each provider item coded after its context, read in the item's case (`default_case` when it
    names none), as `encounter classify` codes it."""
    out: dict[int, Coding] = {}
    for case in CASES:
        indices = [n for n, i in enumerate(items) if (i.case or default_case) == case]
        codes = classifier.code_provider_turns(
            [items[n].text for n in indices], [items[n].context for n in indices], CaseContext(case)
        )
        out.update(zip(indices, codes))
    return [out[n] for n in range(len(items))]


def _moment_metrics(truth: list[str], coded: list[tuple[str, float]]) -> dict[str, Any]:
    predicted = [label for label, _ in coded]
    flagged = [(label, confidence, label == t) for (label, confidence), t in zip(coded, truth) if label != NONE]
    return {
        "detection": binary([t != NONE for t in truth], [p != NONE for p in predicted]),
        "labels": per_label(truth, predicted, (NONE, *MOMENT_LABELS)),
        "flag_ece": expected_calibration_error([c for _, c, _ in flagged], [ok for _, _, ok in flagged]),
    }


def _groups(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    return per_label([_group(t) for t in truth], [_group(p) for p in predicted], GROUPS)


def _group(label: str) -> str:
    return group_of(None if label == NONE else label)


def binary(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    return {
        "precision": round(float(p), 4),
        "recall": round(float(r), 4),
        "f1": round(float(f), 4),
        "support": int(sum(truth)),
    }


def per_label(truth: list[str], predicted: list[str], labels: tuple[str, ...]) -> dict[str, Any]:
    """Per-label P/R/F1; macro-F1 over the labels that occur in the truth (a set written outside the
    project need not cover every label)."""
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
    present = [f[i] for i in range(len(labels)) if n[i] > 0]
    accuracy = float(np.mean([a == b for a, b in zip(truth, predicted)])) if truth else 0.0
    return {
        "macro_f1": round(float(np.mean(present)) if present else 0.0, 4),
        "accuracy": round(accuracy, 4),
        "labels": per,
    }


def expected_calibration_error(confidence: list[float], correct: list[bool], bins: int = 10) -> float | None:
    """Mean |confidence - accuracy| over equal-width confidence bins, weighted by their size."""
    if not confidence:
        return None
    c, ok = np.array(confidence), np.array(correct, dtype=float)
    index = np.minimum((c * bins).astype(int), bins - 1)
    gaps = [
        abs(c[index == b].mean() - ok[index == b].mean()) * (index == b).sum()
        for b in range(bins)
        if (index == b).any()
    ]
    return round(float(sum(gaps) / len(c)), 4)


# -- real clinical dialogue ----------------------------------------------------------------------

WORDS_PER_MINUTE = 150
_SPEAKER = re.compile(r"^\s*(?:\[(?P<tag>[a-z_ ]+)\]|(?P<name>[A-Za-z_ ]+):)\s*(?P<text>.*)$")
SPEAKERS = {"patient": "patient", "doctor": "provider"}
"""Speaker tags of the two corpora (ACI-Bench `[doctor]`, MTS-Dialog `Doctor:`); others (family) are skipped."""


@dataclass(frozen=True)
class Turn:
    source: str
    speaker: str
    text: str
    context: str | None
    """The turn before it in the dialogue (anyone's), or None at the start."""


def clinical_files(directory: Path) -> dict[str, list[Path]]:
    """The dialogue CSVs by use: `mts_train` (training negatives), `mts_dev` (dev false alarms) and
    `aci` (reported false alarms, never trained or tuned on)."""
    mts = sorted(directory.glob("mts-dialog/**/*.csv"))
    return {
        "mts_train": [p for p in mts if "TrainingSet" in p.name],
        "mts_dev": [p for p in mts if "TrainingSet" not in p.name],
        "aci": sorted(directory.glob("aci-bench/**/*.csv")),
    }


def dialogue_turns(paths: list[Path]) -> list[Turn]:
    """Every patient and doctor turn of every dialogue in the CSVs (a `dialogue` column), in ACI-Bench
    (`[patient] ...`) or MTS-Dialog (`Patient: ...`) form; repeated dialogues once."""
    csv.field_size_limit(sys.maxsize)
    turns: list[Turn] = []
    seen: set[str] = set()
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                dialogue = row.get("dialogue")
                if not dialogue or dialogue in seen:
                    continue
                seen.add(dialogue)
                turns += _turns(path.name, dialogue)
    return turns


def _turns(source: str, dialogue: str) -> list[Turn]:
    """A line without a speaker continues the turn before it."""
    lines: list[tuple[str, str]] = []
    for line in dialogue.splitlines():
        match = _SPEAKER.match(line)
        if match:
            lines.append(((match["tag"] or match["name"]).strip().lower(), match["text"]))
        elif lines and line.strip():
            lines[-1] = (lines[-1][0], lines[-1][1] + " " + line.strip())
    out = []
    for n, (speaker, text) in enumerate(lines):
        if speaker in SPEAKERS and text.strip():
            context = lines[n - 1][1].strip() if n else None
            out.append(Turn(source, SPEAKERS[speaker], text.strip(), context or None))
    return out


@dataclass(frozen=True)
class FalseAlarms:
    turns: int
    words: int
    flagged: list[tuple[Turn, str, float]]
    by_lines: list[tuple[Turn, str, float]] = field(default_factory=list)
    """Those flagged only because they say an implicit challenge line (race-themed case)."""
    by_replies: list[tuple[Turn, str, float]] = field(default_factory=list)
    """Those flagged only because the provider's next turn revealed them (race-themed case)."""

    @property
    def hours(self) -> float:
        return self.words / WORDS_PER_MINUTE / 60

    @property
    def per_hour(self) -> float:
        return len(self.flagged) / self.hours if self.words else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "flags": len(self.flagged),
            "turns": self.turns,
            "hours": round(self.hours, 2),
            "per_hour": round(self.per_hour, 3),
        }


def answered(turns: list[Turn]) -> list[tuple[Turn, Turn | None]]:
    """Each patient turn with the provider's turn right after it in the same dialogue (None: none)."""
    after = [*turns[1:], None]
    return [
        (turn, reply if reply and reply.source == turn.source and reply.speaker == "provider" else None)
        for turn, reply in zip(turns, after)
        if turn.speaker == "patient"
    ]


def false_alarms(classifier: Classifier, turns: list[Turn], case_context: CaseContext = GENERAL) -> FalseAlarms:
    """Patient turns flagged as moments, on their own or revealed by the provider's reply."""
    pairs = answered(turns)
    patients = [turn for turn, _ in pairs]
    codes = classifier.code_answered_turns(
        [t.text for t in patients], [reply.text if reply else None for _, reply in pairs], case_context
    )
    flagged: list[tuple[Turn, str, float]] = []
    by_lines: list[tuple[Turn, str, float]] = []
    by_replies: list[tuple[Turn, str, float]] = []
    for turn, code in zip(patients, codes):
        if code.moment is not None:
            flagged.append((turn, code.moment, code.confidence))
            if code.implicit_line:
                by_lines.append(flagged[-1])
            if code.revealed:
                by_replies.append(flagged[-1])
    return FalseAlarms(len(patients), sum(len(t.text.split()) for t in patients), flagged, by_lines, by_replies)


def provider_false_alarms(classifier: Classifier, turns: list[Turn]) -> FalseAlarms:
    """Provider turns screened as standalone microaggressions (no moment precedes them in ordinary talk)."""
    providers = [t for t in turns if t.speaker == "provider"]
    codes = classifier.code_replies([t.text for t in providers], [t.context for t in providers], "standalone")
    flagged = [(t, c.response, c.confidence) for t, c in zip(providers, codes) if c.response is not None]
    return FalseAlarms(len(providers), sum(len(t.text.split()) for t in providers), flagged)


def scripted_false_alarms(classifier: Classifier, turns: list[Turn], scenario: Scenario) -> FalseAlarms:
    """Provider turns of ordinary talk that the scenario's scripted microaggressions would code:
    each turn read as a later turn in the window of every challenge that lists some, counting
    the turns coded only because of the scripted lines (what the author adds to the model)."""
    providers = [t for t in turns if t.speaker == "provider"]
    flagged = []
    for cue in case_context_of(scenario).cues:
        if cue.microaggressions:
            # only a turn that says a scripted line can change: read just those with the reply model
            said = classifier.scripted_lines_said([t.text for t in providers], cue)
            close = [t for t, line in zip(providers, said) if line is not None]
            texts = [t.text for t in close]
            contexts: list[str | None] = [cue.text] * len(close)
            plain = classifier.code_replies(texts, contexts, "later", not cue.situational)
            scripted = classifier.code_replies(texts, contexts, "later", not cue.situational, [cue] * len(close))
            flagged += [
                (t, c.response, c.confidence)
                for t, c, p in zip(close, scripted, plain)
                if not p.response and c.response
            ]
    return FalseAlarms(len(providers), sum(len(t.text.split()) for t in providers), flagged)


def format_metrics(metrics: dict[str, Any], title: str = "") -> str:
    """Metrics of one set as a readable block."""
    lines = [f"{title}: {metrics['items']['patient']} patient and {metrics['items']['provider']} provider items"]
    for case, m in metrics.get("moments", {}).items():
        d = m["detection"]
        ece = "n/a" if m["flag_ece"] is None else f"{m['flag_ece']:.3f}"
        lines.append(
            f"  moments ({case}, {d['support']} moments): P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
            f"  | labels macro-F1 {m['labels']['macro_f1']:.3f}  | confidence ECE {ece}"
        )
    if "response_groups" in metrics:
        g, r = metrics["response_groups"], metrics["response_labels"]
        lines.append(
            f"  responses (moment known): groups macro-F1 {g['macro_f1']:.3f} accuracy {g['accuracy']:.3f}"
            f"  | labels macro-F1 {r['macro_f1']:.3f} accuracy {r['accuracy']:.3f}"
        )
    if "end_to_end_groups" in metrics:
        e = metrics["end_to_end_groups"]
        lines.append(
            f"  responses end to end (context detected as a moment first): groups macro-F1 {e['macro_f1']:.3f}"
            f" accuracy {e['accuracy']:.3f}"
        )
    if "standalone" in metrics:
        s = metrics["standalone"]
        lines.append(
            f"  standalone microaggressions ({s['support']}): "
            f"P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}"
        )
    if "nonracial_bias_flagged" in metrics:
        rates = metrics["nonracial_bias_flagged"]
        lines.append(
            f"  non-racial bias accounts flagged ({metrics['nonracial_bias_items']}): "
            + ", ".join(f"{case} {100 * rate:.1f}%" for case, rate in rates.items())
            + f" ({100 * metrics['nonracial_bias_validated']:.1f}% race-themed when the provider validates them)"
        )
    return "\n".join(lines)


def format_labels(metrics: dict[str, Any]) -> str:
    """Per-label tables of one set."""
    lines = [f"{'label':28s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}"]
    tables = [m["labels"] for m in metrics.get("moments", {}).values()][:1]
    tables += [metrics[k] for k in ("response_groups", "response_labels") if k in metrics]
    for table in tables:
        for label, row in table["labels"].items():
            lines.append(
                f"{label:28s} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} {row['support']:5d}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()


def assess(classifier: Classifier, sets: dict[str, list[Item]], dialogue: dict[str, list[Turn]]) -> dict[str, Any]:
    """`evaluate` on each labelled set, and false alarms on each set of clinical dialogue: patient turns
    read in a general and in a race-themed case (no cues), provider turns screened as standalone."""
    out: dict[str, Any] = {"sets": {name: evaluate(classifier, items) for name, items in sets.items()}}
    out["false_alarms"] = {
        name: {
            "general": false_alarms(classifier, turns).summary(),
            "race_themed": false_alarms(classifier, turns, CaseContext("race_themed")).summary(),
            "provider_standalone": provider_false_alarms(classifier, turns).summary(),
        }
        for name, turns in dialogue.items()
    }
    return out


def format_assessment(assessment: dict[str, Any]) -> str:
    lines = [format_metrics(metrics, name) for name, metrics in assessment["sets"].items()]
    for name, rates in assessment["false_alarms"].items():
        g, r, p = rates["general"], rates["race_themed"], rates["provider_standalone"]
        lines.append(
            f"false alarms on {name} ({g['turns']} patient turns, {g['hours']} h; "
            f"{p['turns']} provider turns, {p['hours']} h): "
            f"general {g['per_hour']:.2f}/h ({g['flags']}), race-themed {r['per_hour']:.2f}/h ({r['flags']}), "
            f"standalone provider codes {p['per_hour']:.2f}/h ({p['flags']})"
        )
    return "\n".join(lines)
