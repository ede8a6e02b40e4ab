"""`encounter classify`: the stable JSONL interface to the moment and response models.

In, one object per line: `{"speaker": "patient"|"provider", "text": "...", "context": "optional
preceding turn", "case": "general"|"race_themed" (optional), "scenario": "ID" (optional),
"context_moment": true|false (optional, provider lines), "id": string|integer (optional)}`.
`case` says how a patient turn is read (taxonomy v1.1; default `general`); `scenario` names a
scenario in `scenarios/`, which implies its case and adds its scripted cue lines. A provider
line is coded as the reply to its context when the context is a moment (read in the same
case), and otherwise screened for a microaggression of its own (none: neutral).
`context_moment` says whether the context is a moment instead of reading it: a researcher
coding the replies to challenges already identified (as the seed study's coders did) gets the
reply coder alone, without the moment detector's misses.

Out, one object per input line, in the same order: `{"moment": label|null, "response":
label|null, "group": "microaggression"|"responsive"|"neutral"|null, "confidence": float}`,
led by the line's `id` when it has one (a researcher's annotated set joins back on it),
plus `"scripted": true` for a patient turn matched to a scripted cue line, and
`"implicit_challenge": true` for one flagged because it says an implicit challenge line
(analysis/implicit_challenges.py). A provider line's output also says how it was coded:
`"relation": "immediate"` as the reply to a moment, `"standalone"` screened as a turn with no
moment before it (its context was not read as one, or `context_moment` was false), and
`"revealed_moment": true` when its context became a moment only because the reply answered it
as a challenge (a race-themed case). Empty and blank input gives no output.

Every line is checked before anything is classified, so bad input stops the run with the line
numbers to fix and no partial output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from encounter_feedback.analysis.classifier import GENERAL, CaseContext, Classifier, Coding, case_context_of
from encounter_feedback.errors import UserError
from encounter_feedback.scenarios import ScenarioError, find_scenario
from encounter_feedback.taxonomy import CASES

MAX_REPORTED = 10
FIELDS = ("id", "speaker", "text", "context", "case", "scenario", "context_moment")
"""Any other field is an error: a misspelt `contxt` would otherwise be read as no context."""


class ClassifyError(UserError):
    """Input lines that are not valid requests; the message names each line."""


@dataclass(frozen=True)
class Request:
    speaker: str
    text: str
    context: str | None
    case_context: CaseContext = GENERAL
    context_moment: bool | None = None
    """Whether the context is a moment, when the line says so (else it is read)."""
    id: str | int | None = None
    """The caller's name for the line, echoed in its output."""


@dataclass(frozen=True)
class Defaults:
    """What a line that names neither `case` nor `scenario` is read in (`--case`, `--scenario`)."""

    case: str = "general"
    scenario: str | None = None


def case_context(case: str | None, scenario: str | None, defaults: Defaults) -> CaseContext:
    """A line's reading: its scenario (with the scenario's cue lines), else its case, else the defaults."""
    if scenario is None and case is None:
        case, scenario = defaults.case, defaults.scenario
    if scenario is not None:
        context = case_context_of(find_scenario(scenario))
        return CaseContext(case, context.cues) if case is not None else context
    return CaseContext(case or "general")


def parse_request(line: str, number: int, defaults: Defaults = Defaults()) -> Request:
    """One input line; ClassifyError names the line number and what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ClassifyError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ClassifyError(f"line {number}: expected a JSON object with speaker and text")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ClassifyError(f"line {number}: unknown field(s) {', '.join(sorted(unknown))}; use {', '.join(FIELDS)}")
    speaker, text, context, line_id = data.get("speaker"), data.get("text"), data.get("context"), data.get("id")
    case, scenario, context_moment = data.get("case"), data.get("scenario"), data.get("context_moment")
    if line_id is not None and (isinstance(line_id, bool) or not isinstance(line_id, (str, int))):
        raise ClassifyError(f"line {number}: id must be a string or an integer")
    if speaker not in ("patient", "provider"):
        raise ClassifyError(f'line {number}: speaker must be "patient" or "provider", got {json.dumps(speaker)}')
    if not isinstance(text, str):
        raise ClassifyError(f"line {number}: text must be a string")
    if context is not None and not isinstance(context, str):
        raise ClassifyError(f"line {number}: context must be a string or null")
    if case is not None and case not in CASES:
        raise ClassifyError(
            f"line {number}: case must be {' or '.join(json.dumps(c) for c in CASES)}, got {json.dumps(case)}"
        )
    if scenario is not None and not isinstance(scenario, str):
        raise ClassifyError(f"line {number}: scenario must be a scenario id")
    if context_moment is not None and (speaker != "provider" or not isinstance(context_moment, bool)):
        raise ClassifyError(f"line {number}: context_moment is true or false, on a provider line")
    try:
        return Request(speaker, text, context, case_context(case, scenario, defaults), context_moment, line_id)
    except ScenarioError as exc:
        raise ClassifyError(f"line {number}: {exc}") from None


def parse_requests(lines: Iterable[str], defaults: Defaults = Defaults()) -> list[Request]:
    """Every non-blank line as a request; all errors (up to ten) reported together."""
    requests, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            requests.append(parse_request(line, number, defaults))
        except ClassifyError as exc:
            errors.append(str(exc))
    if errors:
        more = f"\n... and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        raise ClassifyError("invalid input, nothing classified:\n" + "\n".join(errors[:MAX_REPORTED]) + more)
    return requests


def classify_requests(classifier: Classifier, requests: list[Request]) -> list[Coding]:
    """Codes in input order; lines of one speaker and one reading are coded in one batch."""
    codes: dict[int, Coding] = {}
    groups: dict[tuple[str, CaseContext, bool | None], list[int]] = {}
    for n, request in enumerate(requests):
        groups.setdefault((request.speaker, request.case_context, request.context_moment), []).append(n)
    for (speaker, context, context_moment), indices in groups.items():
        texts = [requests[n].text for n in indices]
        contexts = [requests[n].context for n in indices]
        if speaker == "patient":
            batch = classifier.code_patient_turns(texts, context)
        else:
            known = None if context_moment is None else [context_moment] * len(indices)
            batch = classifier.code_provider_turns(texts, contexts, context, known)
        codes.update(zip(indices, batch))
    return [codes[n] for n in range(len(requests))]


def classify_lines(classifier: Classifier, lines: Iterable[str], defaults: Defaults = Defaults()) -> list[str]:
    """JSONL in, JSONL out (see the module doc)."""
    requests = parse_requests(lines, defaults)
    codes = classify_requests(classifier, requests)
    return [json.dumps(_named(r.id, c.to_dict())) for r, c in zip(requests, codes)]


def _named(line_id: str | int | None, body: dict[str, object]) -> dict[str, object]:
    return body if line_id is None else {"id": line_id, **body}
