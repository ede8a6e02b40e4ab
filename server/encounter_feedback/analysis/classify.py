"""`encounter classify`: the stable JSONL interface to the moment and response models.

In, one object per line: `{"speaker": "patient"|"provider", "text": "...", "context": "optional preceding turn"}`.
Out, one object per input line, in the same order: `{"moment": label|null, "response": label|null,
"group": "microaggression"|"responsive"|"neutral"|null, "confidence": float}`.

Every line is checked before anything is classified, so bad input stops the run with the line
numbers to fix and no partial output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from encounter_feedback.analysis.classifier import Classifier, Coding
from encounter_feedback.errors import UserError

MAX_REPORTED = 10


class ClassifyError(UserError):
    """Input lines that are not valid requests; the message names each line."""


@dataclass(frozen=True)
class Request:
    speaker: str
    text: str
    context: str | None


def parse_request(line: str, number: int) -> Request:
    """One input line; ClassifyError names the line number and what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ClassifyError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ClassifyError(f"line {number}: expected a JSON object with speaker and text")
    unknown = set(data) - {"speaker", "text", "context"}
    if unknown:
        raise ClassifyError(f"line {number}: unknown field(s) {', '.join(sorted(unknown))}; use speaker, text, context")
    speaker, text, context = data.get("speaker"), data.get("text"), data.get("context")
    if speaker not in ("patient", "provider"):
        raise ClassifyError(f'line {number}: speaker must be "patient" or "provider", got {json.dumps(speaker)}')
    if not isinstance(text, str):
        raise ClassifyError(f"line {number}: text must be a string")
    if context is not None and not isinstance(context, str):
        raise ClassifyError(f"line {number}: context must be a string or null")
    return Request(speaker, text, context)


def parse_requests(lines: Iterable[str]) -> list[Request]:
    """Every non-blank line as a request; all errors (up to ten) reported together."""
    requests, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            requests.append(parse_request(line, number))
        except ClassifyError as exc:
            errors.append(str(exc))
    if errors:
        more = f"\n... and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        raise ClassifyError("invalid input, nothing classified:\n" + "\n".join(errors[:MAX_REPORTED]) + more)
    return requests


def classify_requests(classifier: Classifier, requests: list[Request]) -> list[Coding]:
    """Codes in input order: patient lines through the moment model, provider lines through the
    response model, each in one batch."""
    patients = [i for i, r in enumerate(requests) if r.speaker == "patient"]
    providers = [i for i, r in enumerate(requests) if r.speaker == "provider"]
    codes = dict(zip(patients, classifier.code_patient_turns([requests[i].text for i in patients])))
    codes.update(
        zip(
            providers,
            classifier.code_replies([requests[i].text for i in providers], [requests[i].context for i in providers]),
        )
    )
    return [codes[i] for i in range(len(requests))]


def classify_lines(classifier: Classifier, lines: Iterable[str]) -> list[str]:
    """JSONL in, JSONL out (see the module doc)."""
    return [json.dumps(c.to_dict()) for c in classify_requests(classifier, parse_requests(lines))]
