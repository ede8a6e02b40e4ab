"""Agreement between the system's codes and a human coder's, or between two coders.

Codes come from a stored encounter (the system's moments and responses), an exported or
`analyze`d annotations file (events.jsonl, events.csv), a coder's CSV (`t0,t1,label`, seconds)
or a tier of an ELAN file. They are compared on **time units**: the encounter is cut into
frames of `unit` seconds (1 s by default) and each frame takes the code covering its
midpoint (the later-starting code where a coder's codes overlap), or `none`. Frames are the
unit because the two sides segment turns differently: a coder marks a moment from where the
patient starts to where they stop, the system from its recognised words, and frames compare
both without first matching turns to turns.

Codes are compared per scheme: `moment` (the five moment labels), `response` (the twelve
response labels) and `group` (microaggression | responsive). A code outside the scheme counts
as `none` in it; `neutral` is `none` (ordinary talk). Reported per scheme: the number of
frames, percent agreement, Cohen's kappa and the confusion matrix. Frames where neither side
coded anything agree trivially, so with rare codes percent agreement is high and kappa, which
discounts agreement by chance, is the figure to read.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from encounter_feedback.errors import UserError
from encounter_feedback.research.eaf import read_tier
from encounter_feedback.research.tiers import Interval
from encounter_feedback.store.database import Store, UnknownEncounter, latest
from encounter_feedback.taxonomy import GROUPS, MOMENT_LABELS, RESPONSE_LABELS, group_of
from encounter_feedback.textfiles import read_text

UNIT_S = 1.0
NONE = "none"
NEUTRAL = ("", "none", "neutral")
KNOWN_LABELS = MOMENT_LABELS + RESPONSE_LABELS + GROUPS + NEUTRAL


class AgreementError(UserError):
    """Codes that cannot be compared; the message names the input and what to fix."""


@dataclass(frozen=True)
class TimedCodes:
    """One side's codes over time (the system's or a coder's): taxonomy labels, lower case, and the length
    of the encounter that side saw."""

    name: str
    codes: tuple[Interval, ...]
    duration: float


@dataclass(frozen=True)
class Agreement:
    scheme: str
    unit: float
    frames: int
    labels: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    """matrix[i][j]: frames side A coded labels[i] and side B labels[j]."""
    percent: float
    kappa: float | None
    """None when chance agreement is 1 (both sides used one label throughout): kappa is undefined."""


def scheme_label(label: str, scheme: str) -> str:
    """A code's label in a scheme (`none` where the scheme has no such code)."""
    if scheme == "moment":
        return label if label in MOMENT_LABELS else NONE
    if scheme == "response":
        return label if label in RESPONSE_LABELS else NONE
    if label in RESPONSE_LABELS:
        return group_of(label)
    return label if label in ("microaggression", "responsive") else NONE


def frame_labels(side: TimedCodes, scheme: str, frames: int, unit: float = UNIT_S) -> list[str]:
    """The label of each frame: the scheme's code covering the frame's midpoint, else `none`."""
    coded = [(code, scheme_label(code.label, scheme)) for code in side.codes]
    coded = [(code, label) for code, label in coded if label != NONE]
    labels = []
    for k in range(frames):
        middle = (k + 0.5) * unit
        covering = [(code.t0, label) for code, label in coded if code.t0 <= middle < code.t1]
        labels.append(max(covering)[1] if covering else NONE)
    return labels


def cohen(a: list[str], b: list[str], scheme: str = "", unit: float = UNIT_S) -> Agreement:
    """Percent agreement, Cohen's kappa and the confusion matrix of two equally long label lists.

    kappa = (po - pe) / (1 - pe), po the share of frames with the same label, pe the agreement
    expected by chance (scikit-learn's `cohen_kappa_score`). pe is 1, and kappa undefined, exactly
    when both sides used one and the same label throughout.
    """
    if len(a) != len(b) or not a:
        raise AgreementError("nothing to compare: the codings cover no time")
    labels = tuple(sorted(set(a) | set(b), key=lambda label: (label != NONE, label)))
    if len(labels) == 1:  # scikit-learn warns on a 1 x 1 matrix and returns nan for this kappa
        return Agreement(scheme, unit, len(a), labels, ((len(a),),), 1.0, None)
    matrix = confusion_matrix(a, b, labels=list(labels))
    rows = tuple(tuple(int(count) for count in row) for row in matrix)
    kappa = float(cohen_kappa_score(a, b, labels=list(labels)))
    return Agreement(scheme, unit, len(a), labels, rows, float(matrix.trace()) / len(a), kappa)


def compare(a: TimedCodes, b: TimedCodes, scheme: str, unit: float = UNIT_S) -> Agreement:
    """A against B on frames of `unit` seconds over the longer of the two encounters."""
    end = max([a.duration, b.duration] + [code.t1 for code in a.codes + b.codes])
    frames = math.ceil(round(end / unit, 6))
    return cohen(frame_labels(a, scheme, frames, unit), frame_labels(b, scheme, frames, unit), scheme, unit)


def format_agreement(a: TimedCodes, b: TimedCodes, result: Agreement) -> str:
    kappa = f"{result.kappa:.3f}" if result.kappa is not None else "undefined (both sides used one label throughout)"
    width = max(len(label) for label in result.labels + ("A \\ B",))
    columns = [max(len(label), len(str(result.frames))) for label in result.labels]
    lines = [
        f"{result.scheme} codes, {result.unit:g} s frames: A = {a.name}, B = {b.name}",
        f"  frames {result.frames}, percent agreement {100 * result.percent:.1f}%, Cohen's kappa {kappa}",
        "  " + "A \\ B".ljust(width) + "".join(f"  {label:>{w}}" for label, w in zip(result.labels, columns)),
    ]
    for label, row in zip(result.labels, result.matrix):
        lines.append("  " + label.ljust(width) + "".join(f"  {count:>{w}}" for count, w in zip(row, columns)))
    return "\n".join(lines)


def load_codes(spec: str, store: Store) -> TimedCodes:
    """Codes from `FILE` or `FILE#SELECTOR` (an ELAN tier; the encounter of a multi-encounter
    export), or from the stored encounter with id `spec`."""
    path, selector = Path(spec), None
    if not path.is_file() and "#" in spec:
        head, selector = spec.rsplit("#", 1)
        path = Path(head)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".eaf":
            return _checked(str(path) + (f"#{selector}" if selector else ""), read_tier(path, selector), path)
        if suffix == ".jsonl":
            return _from_events(_jsonl(path), selector, str(path))
        if suffix == ".csv":
            return _from_csv(path, selector)
        raise AgreementError(
            f"{path}: use a coder's .csv (t0,t1,label), an ELAN .eaf, or an exported events.jsonl / events.csv"
        )
    try:
        events = store.latest_events(spec)
    except UnknownEncounter:
        raise AgreementError(f"{spec}: no such file, and no encounter {spec!r} in {store.data_dir}") from None
    return _from_events(events, None, f"{spec} (system)")


def _from_events(events: list[dict[str, Any]], encounter: str | None, name: str) -> TimedCodes:
    """The moments and (non-neutral) responses of one encounter's events."""
    encounters = sorted({e["encounter"] for e in events})
    if encounter is None and len(encounters) > 1:
        raise AgreementError(
            f"{name} holds {len(encounters)} encounters; choose one as {name}#ENCOUNTER ({', '.join(encounters)})"
        )
    if encounter is not None:
        if encounter not in encounters:
            raise AgreementError(f"{name} has no encounter {encounter!r} ({', '.join(encounters)})")
        events = [e for e in events if e["encounter"] == encounter]
        name = f"{name}#{encounter}"
    codes = tuple(
        Interval(e["t0"], e["t1"], e["label"])
        for e in latest(events)
        if e["type"] in ("moment", "response") and e["label"]
    )
    return TimedCodes(name, codes, max((e["t1"] for e in events), default=0.0))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    events = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise AgreementError(f"{path}: line {number}: not JSON ({exc.msg})") from None
    return events


def _csv_rows(path: Path) -> csv.DictReader[str]:
    return csv.DictReader(io.StringIO(read_text(path), newline=""))


def _from_csv(path: Path, encounter: str | None) -> TimedCodes:
    """A coder's `t0,t1,label` file, or an exported events.csv (it has a `type` column)."""
    reader = _csv_rows(path)
    columns = set(reader.fieldnames or ())
    missing = {"t0", "t1", "label"} - columns
    if missing:
        raise AgreementError(f"{path}: line 1: needs the columns t0, t1, label (missing {', '.join(sorted(missing))})")
    rows = [(number, row) for number, row in enumerate(reader, start=2)]
    times = [(number, row, *_seconds(path, number, row)) for number, row in rows]
    if "type" in columns:
        events = [
            {
                "id": row.get("id") or str(number),
                "encounter": row.get("encounter", ""),
                "type": row["type"],
                "t0": t0,
                "t1": t1,
                "label": row["label"] or None,
            }
            for number, row, t0, t1 in times
        ]
        return _from_events(events, encounter, str(path))
    codes = [Interval(t0, t1, row["label"]) for number, row, t0, t1 in times]
    return _checked(str(path), codes, path, [number for number, *_ in times])


def _seconds(path: Path, number: int, row: dict[str, str]) -> tuple[float, float]:
    try:
        t0, t1 = float(row["t0"]), float(row["t1"])
    except (TypeError, ValueError):
        raise AgreementError(
            f"{path}: line {number}: t0 and t1 must be seconds, got {row['t0']!r}, {row['t1']!r}"
        ) from None
    if t1 < t0 or t0 < 0:
        raise AgreementError(f"{path}: line {number}: t0 {t0} to t1 {t1} is not a time span")
    return t0, t1


def _checked(name: str, codes: list[Interval], path: Path, lines: list[int] | None = None) -> TimedCodes:
    """A coder's codes with their labels normalized; an unknown label names where it is."""
    normalized = []
    for n, code in enumerate(codes):
        label = code.label.strip().lower()
        if label not in KNOWN_LABELS:
            where = f"line {lines[n]}" if lines else f"annotation at {code.t0:.3f} s"
            raise AgreementError(
                f"{path}: {where}: {code.label!r} is not a taxonomy label "
                f"(moments: {', '.join(MOMENT_LABELS)}; responses: {', '.join(RESPONSE_LABELS)}; "
                f"or microaggression, responsive, neutral)"
            )
        normalized.append(Interval(code.t0, code.t1, NONE if label in NEUTRAL else label))
    return TimedCodes(name, tuple(normalized), max((code.t1 for code in normalized), default=0.0))


# -- responsiveness scores ------------------------------------------------------------------------

SCORE_LABELS = list(range(-3, 4))


@dataclass(frozen=True)
class Score:
    """One racial challenge's responsiveness score (-3..+3), by moment id and/or time."""

    moment: str | None
    t0: float | None
    t1: float | None
    score: int


@dataclass(frozen=True)
class Scores:
    """One side's responsiveness scores: the system's (moments' `responsiveness`) or a coder's."""

    name: str
    scores: tuple[Score, ...]


@dataclass(frozen=True)
class ScoreAgreement:
    pairs: tuple[tuple[int, int], ...]
    """(A's score, B's score) for each challenge both sides scored."""
    only_a: int
    only_b: int
    """Challenges only one side scored (the system missed it, or the coder did not rate it)."""
    exact: float | None
    within_one: float | None
    weighted_kappa: float | None
    """Cohen's kappa with quadratic weights over the seven points (near misses count partly)."""
    icc: float | None
    """ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout and Fleiss)."""
    spearman: float | None


def is_score_file(spec: str) -> bool:
    """A coder's CSV of responsiveness scores (a `score` column) rather than of labels."""
    path = Path(spec)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    return "score" in (_csv_rows(path).fieldnames or ())


def load_scores(spec: str, store: Store) -> Scores:
    """Scores from a coder's CSV (`moment,score` or `t0,t1,score`), or the system's from a stored
    encounter or an exported events file (`FILE#ENCOUNTER` as for codes)."""
    if is_score_file(spec):
        return _scores_csv(Path(spec))
    path, selector = Path(spec), None
    if not path.is_file() and "#" in spec:
        head, selector = spec.rsplit("#", 1)
        path = Path(head)
    if path.is_file() and path.suffix.lower() == ".jsonl":
        events, name = _jsonl(path), str(path)
    elif path.is_file():
        raise AgreementError(
            f"{path}: responsiveness scores come from a coder's CSV with a score column, or events.jsonl"
        )
    else:
        try:
            events, name = store.latest_events(spec), f"{spec} (system)"
        except UnknownEncounter:
            raise AgreementError(f"{spec}: no such file, and no encounter {spec!r} in {store.data_dir}") from None
    encounters = sorted({e["encounter"] for e in events})
    if selector is None and len(encounters) > 1:
        raise AgreementError(f"{name} holds {len(encounters)} encounters; choose one as {name}#ENCOUNTER")
    moments = [
        e
        for e in latest(events)
        if e["type"] == "moment"
        and e.get("responsiveness") is not None
        and (selector is None or e["encounter"] == selector)
    ]
    return Scores(name, tuple(Score(m["id"], m["t0"], m["t1"], int(m["responsiveness"])) for m in moments))


def _scores_csv(path: Path) -> Scores:
    reader = _csv_rows(path)
    columns = set(reader.fieldnames or ())
    if "moment" not in columns and not {"t0", "t1"} <= columns:
        raise AgreementError(f"{path}: line 1: needs a score column and either moment or t0, t1")
    scores = []
    for number, row in enumerate(reader, start=2):
        try:
            score = int(row["score"])
        except (TypeError, ValueError):
            score = 99
        if score not in SCORE_LABELS:
            raise AgreementError(
                f"{path}: line {number}: score must be a whole number from -3 to 3, got {row['score']!r}"
            )
        t0, t1 = _seconds(path, number, row) if row.get("t0") not in (None, "") else (None, None)
        scores.append(Score(row.get("moment") or None, t0, t1, score))
    return Scores(str(path), tuple(scores))


def pair_scores(a: Scores, b: Scores) -> tuple[list[tuple[int, int]], int, int]:
    """Challenges both sides scored: matched by moment id, else by the largest time overlap (each once)."""
    left, right = list(a.scores), list(b.scores)
    pairs = []
    for x in list(left):
        match = next((y for y in right if x.moment and y.moment == x.moment), None)
        if match is None:
            overlaps = [(_overlap(x, y), n) for n, y in enumerate(right)]
            best = max(overlaps, default=(0.0, -1))
            match = right[best[1]] if best[0] > 0 else None
        if match is not None:
            pairs.append((x.score, match.score))
            left.remove(x)
            right.remove(match)
    return pairs, len(left), len(right)


def _overlap(x: Score, y: Score) -> float:
    if x.t0 is None or x.t1 is None or y.t0 is None or y.t1 is None:
        return 0.0
    return max(0.0, min(x.t1, y.t1) - max(x.t0, y.t0))


def score_agreement(pairs: list[tuple[int, int]], only_a: int = 0, only_b: int = 0) -> ScoreAgreement:
    """Exact and within-one agreement, quadratic-weighted kappa, ICC(2,1) and Spearman's rho of paired scores."""
    from scipy.stats import spearmanr

    if not pairs:
        return ScoreAgreement((), only_a, only_b, None, None, None, None, None)
    a, b = (np.array(side, dtype=float) for side in zip(*pairs))
    distinct = len(set(a) | set(b)) > 1
    kappa = (
        float(cohen_kappa_score(a.astype(int), b.astype(int), labels=SCORE_LABELS, weights="quadratic"))
        if distinct
        else None
    )
    rho = spearmanr(a, b).statistic if len(pairs) > 2 and a.std() and b.std() else None
    return ScoreAgreement(
        tuple(pairs),
        only_a,
        only_b,
        float(np.mean(a == b)),
        float(np.mean(np.abs(a - b) <= 1)),
        kappa,
        _icc(np.stack([a, b], axis=1)),
        None if rho is None else float(rho),
    )


def _icc(x: np.ndarray) -> float | None:
    """ICC(2,1) of n targets (rows) by k raters (columns)."""
    n, k = x.shape
    if n < 2:
        return None
    grand = x.mean()
    ssr = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ssc = n * ((x.mean(axis=0) - grand) ** 2).sum()
    sse = ((x - grand) ** 2).sum() - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    return float((msr - mse) / denominator) if denominator else None


def format_score_agreement(a: Scores, b: Scores, result: ScoreAgreement) -> str:
    def figure(value: float | None, percent: bool = False) -> str:
        return "undefined" if value is None else f"{100 * value:.1f}%" if percent else f"{value:.3f}"

    return "\n".join(
        [
            f"responsiveness scores (-3..+3): A = {a.name}, B = {b.name}",
            f"  challenges scored by both {len(result.pairs)}; only A {result.only_a}, only B {result.only_b}",
            f"  exact agreement {figure(result.exact, True)}, within one point {figure(result.within_one, True)}",
            f"  weighted kappa (quadratic) {figure(result.weighted_kappa)}, ICC(2,1) {figure(result.icc)}, "
            f"Spearman's rho {figure(result.spearman)}",
        ]
    )
