"""The classifier corpus in `models/corpus/`: labelled utterances, with provenance per item.

    models/corpus/train/*.jsonl   what the models learn from
    models/corpus/dev/*.jsonl     what thresholds, calibration and model choices are made on
    models/corpus/test/*.jsonl    the held-out split: reported, never tuned on (written separately,
                                  not paraphrases of train or dev)

One JSON object per line: `id`, `speaker` (patient | provider), `text`, `context` (the turn
just before; required for provider items, since a reply is coded relative to it), `moment`
(a patient label or null), `response` (a provider label or null) and `provenance`; optional:

- `case`: the case the label holds in (taxonomy v1.1). Absent: the label holds in every case.
  `race_themed`: the label holds in a race-themed case, and the item is `null` in a general
  one (an implicit challenge: dismissal, fairness, group mistrust with no race word is a
  moment only where the case supplies the racial context). `general`: the label holds in a
  general case; what it would be in a race-themed one was not decided (a dismissal story
  written as a general-case negative), so the race-themed model does not learn from it.
- `scenario`: the scenario whose scripted cue line the turn paraphrases (cue matching).
- `category`: a finer kind, for reports (e.g. `sexism` for an account of non-racial bias;
  `standalone` for a provider turn whose context is no moment, coded as a remark of its own).
- `context_moment`: for a provider item, whether its context is a moment. Without it, a coded
  reply answers a moment (unless `standalone`) and a neutral one does not.

Sets written outside the project (`models/eval/`, `load_external`) use the same fields and
are only ever evaluated on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encounter_feedback.errors import UserError
from encounter_feedback.resources import bundled_dir
from encounter_feedback.taxonomy import CASES, MOMENT_LABELS, RESPONSE_LABELS

CORPUS_DIR = bundled_dir("models") / "corpus"
EXTERNAL_DIR = bundled_dir("models") / "eval"
SPLITS = ("train", "dev", "test")
FIELDS = ("id", "speaker", "text", "context", "moment", "response", "provenance")
OPTIONAL = ("case", "scenario", "category", "context_moment")
EXTERNAL_EXTRA = ("group",)
"""Columns an external set may add: its response group (derived from the label here)."""


class CorpusError(UserError):
    """A corpus line that breaks the format; the message names the file and line."""


@dataclass(frozen=True)
class Item:
    id: str
    speaker: str
    text: str
    context: str | None
    moment: str | None
    response: str | None
    provenance: str
    case: str | None = None
    scenario: str | None = None
    category: str | None = None
    context_moment: bool | None = None

    def answers_moment(self) -> bool:
        """Whether a provider item's context is a moment (see the module doc)."""
        if self.context_moment is not None:
            return self.context_moment
        return self.response is not None and self.category != "standalone"

    def moment_in(self, case: str) -> tuple[bool, str | None]:
        """Whether the item says what a patient turn is in `case`, and the label there (see the module doc)."""
        if self.case is None or self.case == case:
            return True, self.moment
        if self.case == "race_themed":  # an implicit challenge is not a moment outside a race-themed case
            return True, None
        return False, None


def corpus_files(split: str, root: Path = CORPUS_DIR) -> list[Path]:
    """The split's files (`train`, `dev` or `test`) in a fixed order."""
    files = sorted((root / split).glob("*.jsonl"))
    if not files:
        raise CorpusError(f"no {split} files in {root / split} (expected *.jsonl)")
    return files


def load_items(files: list[Path]) -> list[Item]:
    """Every item of the files, checked; duplicate ids are errors."""
    items: list[Item] = []
    seen_ids: dict[str, str] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            item = parse_item(line, where)
            if item.id in seen_ids:
                raise CorpusError(f"{where}: id {item.id!r} already used at {seen_ids[item.id]}")
            seen_ids[item.id] = where
            items.append(item)
    return items


def parse_item(line: str, where: str, external: bool = False) -> Item:
    """One line. An `external` set's item may carry its own columns (ignored) and a provider turn
    with no context (a remark nobody prompted)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not set(FIELDS) <= set(data) <= set(
        FIELDS + OPTIONAL + (EXTERNAL_EXTRA if external else ())
    ):
        raise CorpusError(f"{where}: expected the fields {', '.join(FIELDS)} (optional: {', '.join(OPTIONAL)})")
    provenance = data["provenance"]
    if not isinstance(provenance, str):
        provenance = json.dumps(provenance, ensure_ascii=False, sort_keys=True)
    values: dict[str, Any] = {k: data.get(k) for k in FIELDS + OPTIONAL}
    item = Item(**{**values, "provenance": provenance})
    _check(item, where, need_context=not external)
    return item


def _check(item: Item, where: str, need_context: bool) -> None:
    if item.speaker not in ("patient", "provider"):
        raise CorpusError(f"{where}: speaker must be patient or provider, got {item.speaker!r}")
    if not isinstance(item.text, str) or not item.text.strip():
        raise CorpusError(f"{where}: empty text")
    if item.moment is not None and (item.speaker != "patient" or item.moment not in MOMENT_LABELS):
        raise CorpusError(f"{where}: moment {item.moment!r} is not a patient label ({', '.join(MOMENT_LABELS)})")
    if item.response is not None and (item.speaker != "provider" or item.response not in RESPONSE_LABELS):
        raise CorpusError(f"{where}: response {item.response!r} is not a provider label")
    if need_context and item.speaker == "provider" and not (item.context or "").strip():
        raise CorpusError(f"{where}: a provider item needs its context (the patient turn before it)")
    if item.case is not None and item.case not in CASES:
        raise CorpusError(f"{where}: case must be one of {', '.join(CASES)} or absent, got {item.case!r}")
    if item.provenance in ("", "null", "{}"):
        raise CorpusError(f"{where}: provenance is required")


def load_split(split: str, root: Path = CORPUS_DIR) -> list[Item]:
    return load_items(corpus_files(split, root))


def corpus_hash(root: Path = CORPUS_DIR, splits: tuple[str, ...] = SPLITS) -> str:
    """SHA-256 over the splits' corpus files (name and bytes): every split, what an artifact was
    trained and tuned on; the train split alone, what its encoders learned from."""
    digest = hashlib.sha256()
    for split in splits:
        for path in corpus_files(split, root):
            digest.update(f"{split}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def external_sets(root: Path = EXTERNAL_DIR) -> dict[str, list[Item]]:
    """The evaluation sets written outside the project (`models/eval/*.jsonl`), by file stem;
    empty where there are none."""
    return {path.stem: load_external(path) for path in sorted(root.glob("*.jsonl"))} if root.is_dir() else {}


def load_external(path: Path) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            items.append(parse_item(line, f"{path}:{number}", external=True))
    return items
