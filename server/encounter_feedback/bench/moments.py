"""`encounter bench moments`: each evaluation set on its own, false alarms, non-racial bias, speed, and
the responsiveness score against a coder on a worked example.

- **held-out** (`models/corpus/test/`): reported, never tuned on; **dev** for reference (the
  settings were chosen on it);
- **external** (`models/eval/*.jsonl`): sets written outside the project, each on its own;
- **false alarms** per hour on clinical dialogue the model did not train on (ACI-Bench; and
  MTS-Dialog's dev sets, which thresholds were held to): patient turns in a general case, in a
  race-themed case (where dismissal stories are moments by design), provider turns screened as
  standalone microaggressions. Every flag of the general case is listed, so the figure can be
  checked by reading. And, for each scenario that scripts microaggressions, the ACI-Bench
  provider turns its lines would code if said in its challenge's window (each listed); and on
  real mock consultations transcribed by people (`D:`/`P:` files, the osce-dev recordings'), a
  second source of real talk, each flag listed;
- **non-racial bias**: the share of accounts of sexism, homophobia, ableism, ... flagged;
- **speed**: milliseconds to code one utterance alone, as the live server does (a patient turn,
  and a provider turn with its context), on one thread; the TF-IDF family for comparison;
- **responsiveness**: the system's -3..+3 scores on the worked example
  (`models/responsiveness_example.jsonl`: challenges, the provider's turns after each, and the
  score a reader of the seed study's anchors gave) against that reader's, with the statistics
  `encounter agreement` reports.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from encounter_feedback.analysis.classifier import MODELS_DIR, CaseContext, Classifier, TurnModel
from encounter_feedback.analysis.responsiveness import responsiveness
from encounter_feedback.bench.references import TranscriptError, reference_turns
from encounter_feedback.research.agreement import ScoreAgreement, score_agreement
from encounter_feedback.scenarios import load_library
from encounter_feedback.training.corpus import external_sets, load_split
from encounter_feedback.training.evaluate import (
    WORDS_PER_MINUTE,
    Turn,
    clinical_files,
    dialogue_turns,
    evaluate,
    false_alarms,
    format_labels,
    format_metrics,
    provider_false_alarms,
    scripted_false_alarms,
)

Progress = Callable[[str], None]
WORKED_EXAMPLE = MODELS_DIR / "responsiveness_example.jsonl"


def latency_ms(classifier: Classifier, turns: list[Turn], n: int = 300) -> tuple[float, float]:
    """Median and p95 milliseconds to code one utterance alone: a patient turn in a race-themed case
    and a provider turn read after its context, alternately, each text new to the classifier."""
    if not turns:
        turns = [Turn("test", i.speaker, i.text, i.context) for i in load_split("test")]
    patients = [t.text for t in turns if t.speaker == "patient"][:n]
    providers = [(t.context or "", t.text) for t in turns if t.speaker == "provider"][:n]
    times = []
    for text, (context, reply) in zip(patients, providers):
        start = time.perf_counter()
        classifier.code_patient_turns([text], CaseContext("race_themed"))
        middle = time.perf_counter()
        classifier.code_replies([reply], [context])
        end = time.perf_counter()
        times += [(middle - start) * 1000, (end - middle) * 1000]
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def consultation_turns(directory: Path) -> list[Turn]:
    """Every turn of the `D:`/`P:` transcripts (`*.txt`) in `directory`, each after the turn before it."""
    paths = sorted(directory.glob("*.txt"))
    if not paths:
        raise TranscriptError(f"{directory}: no D:/P: transcripts (*.txt); point --consultations at a folder of them")
    turns = []
    for path in paths:
        context = None
        for speaker, text in reference_turns(path):
            turns.append(Turn(path.name, speaker, text, context))
            context = text
    return turns


def bench_moments(
    classifier: Classifier,
    transcripts: Path | None,
    progress: Progress = lambda _: None,
    baseline: TurnModel | None = None,
    consultations: Path | None = None,
) -> str:
    """The report (see the module doc)."""
    dialogue = {}
    if transcripts is not None:
        files = clinical_files(transcripts)
        dialogue = {name: dialogue_turns(files[name]) for name in ("aci", "mts_dev")}
    listed = {"aci": True, "mts_dev": False}
    if consultations is not None:
        dialogue["consultations"] = consultation_turns(consultations)
        listed["consultations"] = True
    # Speed first, while every text is new to the classifier (it keeps the logits of recent patient turns).
    progress("latency")
    speed = [
        f"latency per utterance, {name}: median {median:.1f} ms, p95 {p95:.1f} ms (one at a time, one thread)"
        for name, model in (("encoder (shipped)", classifier), ("tf-idf", _with_model(classifier, baseline)))
        if model is not None
        for median, p95 in [latency_ms(model, dialogue.get("mts_dev", []))]
    ]
    lines = []
    progress("held-out and dev splits")
    test = evaluate(classifier, load_split("test"))
    lines += [format_metrics(test, "held-out (report only)"), format_labels(test), ""]
    lines += [format_metrics(evaluate(classifier, load_split("dev")), "dev (settings chosen here)"), ""]
    for name, items in external_sets().items():
        progress(f"external set {name}")
        lines.append(format_metrics(evaluate(classifier, items), f"external: {name}"))
    for name, turns in dialogue.items():
        progress(f"false alarms on {name}")
        lines += ["", *false_alarm_lines(classifier, name, turns, listed=listed[name])]
    progress("responsiveness on the worked example")
    result = worked_example(classifier)
    lines += [
        "",
        f"responsiveness on the worked example ({len(result.pairs)} challenges, {WORKED_EXAMPLE.name}): "
        f"exact {100 * (result.exact or 0):.0f}%, within one point {100 * (result.within_one or 0):.0f}%, "
        f"weighted kappa {_figure(result.weighted_kappa)}, ICC(2,1) {_figure(result.icc)}, "
        f"Spearman {_figure(result.spearman)}",
    ]
    return "\n".join([*lines, "", *speed])


def _with_model(classifier: Classifier, model: TurnModel | None) -> Classifier | None:
    return (
        None
        if model is None
        else Classifier(model, classifier.settings, classifier.sentences, classifier.sentence_moments)
    )


def false_alarm_lines(classifier: Classifier, name: str, turns: list[Turn], listed: bool) -> list[str]:
    """The report on one clinical dialogue set: flags per hour by case and speaker; with `listed`,
    each general-case and standalone flag, each race-themed flag the implicit challenge lines or the
    provider's reply made (the encoder's own are too many to read), and the scenarios' scripted
    microaggression codes."""
    general = false_alarms(classifier, turns)
    themed = false_alarms(classifier, turns, CaseContext("race_themed"))
    provider = provider_false_alarms(classifier, turns)
    lines = [
        f"false alarms on {name} ({general.turns} patient turns, {general.words} words = {general.hours:.1f} h at "
        f"{WORDS_PER_MINUTE} words/min; {provider.turns} provider turns = {provider.hours:.1f} h):",
        f"  patient turns, general case: {len(general.flagged)} -> {general.per_hour:.2f} per hour",
        f"  patient turns, race-themed case: {len(themed.flagged)} -> {themed.per_hour:.2f} per hour "
        f"(dismissal and mistrust with no race word are moments there by design; {len(themed.by_lines)} flagged "
        f"by the implicit challenge lines alone, {len(themed.by_replies)} revealed by the provider's reply)",
        f"  provider turns, standalone microaggressions: {len(provider.flagged)} -> {provider.per_hour:.2f} per hour",
    ]
    if not listed:
        return lines
    for turn, label, confidence in general.flagged + provider.flagged:
        lines.append(_flag_line(turn, label, confidence))
    lines.append("  race-themed flags by the implicit challenge lines alone (the others are the encoder's own):")
    lines += _flag_lines(themed.by_lines)
    lines.append("  race-themed flags revealed by the provider's reply:")
    lines += _flag_lines(themed.by_replies)
    for scenario in load_library():
        if any(c.microaggressions for c in scenario.challenges):
            scripted = scripted_false_alarms(classifier, turns, scenario)
            lines.append(
                f"  provider turns coded by {scenario.id}'s scripted microaggressions, each read in its challenge's "
                f"window: {len(scripted.flagged)} of {scripted.turns}"
            )
            lines += [_flag_line(turn, label, confidence) for turn, label, confidence in scripted.flagged]
    return lines


def _flag_line(turn: Turn, label: str, confidence: float) -> str:
    return f"    {confidence:.2f} {label:26s} {turn.speaker}: {turn.text[:150]}"


def _flag_lines(flags: list[tuple[Turn, str, float]]) -> list[str]:
    """A listed group of flags, saying so when there are none (an empty heading reads like a cut-off report)."""
    return [_flag_line(*flag) for flag in flags] or ["    none"]


def tfidf_baseline(transcripts: Path | None, progress: Progress) -> TurnModel:
    """The TF-IDF family trained on the same examples (for its speed only)."""
    from encounter_feedback.training.baseline import TfidfModel
    from encounter_feedback.training.train import load_data

    progress("training the TF-IDF family for its latency")
    return TfidfModel(load_data(transcripts, progress).examples)


def worked_example(classifier: Classifier, path: Path = WORKED_EXAMPLE) -> ScoreAgreement:
    """The system's score for each challenge of the worked example (its first turn read as the immediate
    reply, the rest as later turns, as the annotator reads them) against the example's score."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        turns, challenge = row["turns"], row["challenge"]
        [first] = classifier.code_replies(turns[:1], [challenge], "immediate")
        later = classifier.code_replies(turns[1:], [challenge] * (len(turns) - 1), "later")
        labels = [first.response] + [code.response for code in later if code.response is not None]
        score = responsiveness(labels)
        if score is not None:
            pairs.append((score, int(row["score"])))
    return score_agreement(pairs)


def _figure(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"
