"""Corpus items (and real clinical turns) as training inputs, for both model families.

A patient item teaches each moment head it has a label for (`Item.moment_in`): an item with no
`case` teaches both, a race-themed implicit challenge teaches the race-themed head its label and
the general head `none`, an item labelled for a general case only teaches the general head. A
provider item teaches the response head, read after its context (marked when the context is a
moment, as the annotator marks it). The turns those replies answer are moments too, written
without a label: they teach the race-themed head that they are moments (`from_reply_contexts`).
Turns of real clinical dialogue
(MTS-Dialog's training set) are negatives: a patient turn is no moment in either case, a doctor's
turn after the turn before it is neutral.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from encounter_feedback.analysis.classifier import MOMENT_CLASSES, RESPONSE_CLASSES, could_be_moment, reply_context
from encounter_feedback.taxonomy import CASES
from encounter_feedback.training.corpus import Item
from encounter_feedback.training.evaluate import Turn, label_name

CLINICAL_NEGATIVES = {"patient": 1500, "provider": 800}
"""How many real clinical turns of each speaker join the training set (a seeded sample)."""
PATIENT_NEGATIVES = 3000
"""Patient turns that are no moment in any case, neither refer to race nor were written as a hard
negative, kept from the corpus and the clinical turns (a seeded sample): they are most of both,
mostly easy, and the fine-tune's cost grows with every one."""
SOME_MOMENT = -1
"""The label of a turn known to be a moment whose label was never written (a reply's context)."""


@dataclass(frozen=True)
class Example:
    """One training input and its label on each head it teaches (class index into `HEADS[head]`)."""

    first: str
    second: str | None
    labels: dict[str, int]
    hard: bool = False
    """Kept however many negatives are thinned: a turn that refers to race, or was written as a hard negative."""


def from_items(items: list[Item]) -> list[Example]:
    out = []
    for item in items:
        if item.speaker == "provider":
            labels = {"response": RESPONSE_CLASSES.index(label_name(item.response))}
            out.append(Example(reply_context(item.context, item.answers_moment()), item.text, labels))
            continue
        labels = {}
        for case in CASES:
            applies, label = item.moment_in(case)
            if applies:
                labels[case] = MOMENT_CLASSES.index(label_name(label))
        out.append(Example(item.text, None, labels, hard=item.category is not None or could_be_moment(item.text)))
    return out


def from_reply_contexts(items: list[Item]) -> list[Example]:
    """The turns the corpus's replies to a moment answer, each once and in a fixed order, as
    race-themed moments with no written label (`SOME_MOMENT`): those that are not patient items
    already and could be a race-themed moment at all (`could_be_moment`: a few words, no other
    ground named, read on normalized text as at run time).

    Why: the race-themed head learned dismissal stories from 224 written implicit challenges, while
    the replies were written after some 1,800 more contexts, mostly short reports of mistreatment
    ("They sent me home last time without a scan."), that it read as ordinary talk. A missed context
    is a missed reply end to end. Only the race-themed head learns them: in a general case a turn
    with no race word is no moment, and their labels were never decided."""
    patients = {item.text for item in items if item.speaker == "patient"}
    contexts = {item.context for item in items if item.speaker == "provider" and item.answers_moment() and item.context}
    return [
        Example(context, None, {"race_themed": SOME_MOMENT}, hard=True)
        for context in sorted(contexts - patients)
        if could_be_moment(context, "race_themed")
    ]


def examples_hash(examples: list[Example]) -> str:
    """SHA-256 of what the encoders learn from (each input and its labels, in order). Not only the
    corpus decides it: the clinical negatives, and the lexicon that picks which negatives are kept
    (`thin_negatives`), do too; an encoder is only reproducible from the examples it was trained on."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.first, e.second, sorted(e.labels.items())]).encode() + b"\n")
    return digest.hexdigest()


def sample_negatives(turns: list[Turn], seed: int = 0) -> list[Turn]:
    """A seeded sample of `CLINICAL_NEGATIVES` turns per speaker."""
    rng = np.random.default_rng(seed)
    out = []
    for speaker, count in CLINICAL_NEGATIVES.items():
        mine = [t for t in turns if t.speaker == speaker and len(t.text.split()) >= 2]
        out += [mine[k] for k in sorted(rng.choice(len(mine), min(count, len(mine)), replace=False))]
    return out


def thin_negatives(examples: list[Example], seed: int = 0) -> list[Example]:
    """All examples but a seeded sample of `PATIENT_NEGATIVES` of the easy patient turns that are `none` everywhere."""
    negative = [e.second is None and not e.hard and not any(e.labels.values()) for e in examples]
    keep = set(np.flatnonzero(~np.array(negative)))
    pool = np.flatnonzero(negative)
    rng = np.random.default_rng(seed)
    keep |= set(rng.choice(pool, min(PATIENT_NEGATIVES, len(pool)), replace=False))
    return [e for n, e in enumerate(examples) if n in keep]


def from_turns(turns: list[Turn]) -> list[Example]:
    return [
        Example(t.text, None, {case: 0 for case in CASES})
        if t.speaker == "patient"
        else Example(reply_context(t.context, False), t.text, {"response": 0})
        for t in turns
    ]
