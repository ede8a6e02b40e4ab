"""The classifier corpus in `models/corpus/`: labelled utterances written for this project.

    models/corpus/train/*.jsonl   what the models learn from
    models/corpus/test/*.jsonl    the held-out split, written separately (not paraphrases of train)

One JSON object per line: `id`, `speaker` (patient | provider), `text`, `context` (the turn
just before; required for provider items, since a reply is coded relative to it), `moment`
(a patient label or null), `response` (a provider label or null) and `provenance`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from encounter_feedback.errors import UserError
from encounter_feedback.resources import bundled_dir
from encounter_feedback.taxonomy import MOMENT_LABELS, RESPONSE_LABELS

CORPUS_DIR = bundled_dir("models") / "corpus"
FIELDS = ("id", "speaker", "text", "context", "moment", "response", "provenance")


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


def corpus_files(split: str, root: Path = CORPUS_DIR) -> list[Path]:
    """The split's files (`train` or `test`) in a fixed order."""
    files = sorted((root / split).glob("*.jsonl"))
    if not files:
        raise CorpusError(f"no {split} files in {root / split} (expected *.jsonl)")
    return files


def load_items(files: list[Path]) -> list[Item]:
    """Every item of the files, checked; duplicate ids or texts are errors."""
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


def parse_item(line: str, where: str) -> Item:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or set(data) != set(FIELDS):
        raise CorpusError(f"{where}: expected exactly the fields {', '.join(FIELDS)}")
    item = Item(**data)
    if item.speaker not in ("patient", "provider"):
        raise CorpusError(f"{where}: speaker must be patient or provider, got {item.speaker!r}")
    if not isinstance(item.text, str) or not item.text.strip():
        raise CorpusError(f"{where}: empty text")
    if item.moment is not None and (item.speaker != "patient" or item.moment not in MOMENT_LABELS):
        raise CorpusError(f"{where}: moment {item.moment!r} is not a patient label ({', '.join(MOMENT_LABELS)})")
    if item.response is not None and (item.speaker != "provider" or item.response not in RESPONSE_LABELS):
        raise CorpusError(f"{where}: response {item.response!r} is not a provider label")
    if item.speaker == "provider" and not (item.context or "").strip():
        raise CorpusError(f"{where}: a provider item needs its context (the patient turn before it)")
    if not item.provenance:
        raise CorpusError(f"{where}: provenance is required")
    return item


def load_split(split: str, root: Path = CORPUS_DIR) -> list[Item]:
    return load_items(corpus_files(split, root))


def corpus_hash(root: Path = CORPUS_DIR) -> str:
    """SHA-256 over every corpus file (name and bytes): what an artifact was trained and tested on."""
    digest = hashlib.sha256()
    for split in ("train", "test"):
        for path in corpus_files(split, root):
            digest.update(f"{split}/{path.name}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
