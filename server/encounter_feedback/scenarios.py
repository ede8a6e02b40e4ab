"""Standardized-patient scenarios: the YAML case library in `scenarios/` (schema: scenarios/README.md).

A scenario describes the case, briefs the patient actor, scripts the racial challenges the SP
presents (the cue line, labelled with a taxonomy `moment` label, and when to say it), and lists
the learning objectives and the faculty checklist. An optional dialogue script lets the demo
and the benchmarks speak the encounter with TTS. The summary reports each scripted challenge
as detected or not.

Files are checked against the schema on the YAML node tree rather than on the loaded data,
so every error names the file, the line and the field an SP author has to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLES
from encounter_feedback.resources import bundled_dir
from encounter_feedback.taxonomy import MOMENT_LABELS

SCENARIO_DIR = bundled_dir("scenarios")
ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
CLOCK = re.compile(r"(\d+):([0-5]?\d(?:\.\d+)?)")


class ScenarioError(UserError):
    """A scenario file that cannot be used; the message names the file, the line and the field."""


@dataclass(frozen=True)
class Case:
    """The clinical case: where the encounter happens and what the patient comes in with."""

    setting: str
    presentation: str
    details: str = ""


@dataclass(frozen=True)
class Persona:
    """Who the standardized patient plays."""

    name: str
    brief: str
    age: int | None = None


@dataclass(frozen=True)
class Challenge:
    """One scripted racial challenge; `challenge` and `text` are what the summary matches moments against."""

    challenge: str
    """The taxonomy `moment` label the cue is written to present."""
    text: str
    """The cue line the SP is scripted to say (they may say it in their own words)."""
    at: float | None = None
    """Intended timing, seconds from the start of the encounter."""
    notes: str = ""


@dataclass(frozen=True)
class Line:
    """One turn of the dialogue script."""

    role: str
    text: str
    challenge: str | None = None
    """The `moment` label of the scripted challenge this line delivers, if it delivers one."""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    case: Case
    patient: Persona
    challenges: tuple[Challenge, ...]
    """Empty in a control scenario."""
    objectives: tuple[str, ...]
    checklist: tuple[str, ...]
    dialogue: tuple[Line, ...] = ()
    references: tuple[str, ...] = ()


class _Fields:
    """Reads one YAML file's node tree; every problem becomes `FILE:LINE: FIELD: what to fix`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: Node, field: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}:{node.start_mark.line + 1}: {field}: {message}")

    def mapping(
        self, node: Node, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Node]:
        """The mapping's values by key; unknown, repeated and missing keys are errors (typos fail loudly)."""
        if not isinstance(node, MappingNode):
            raise self.error(node, field, f"expected a mapping with {', '.join(required)}")
        values: dict[str, Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            where = f"{field}.{name}" if field else str(name)
            if name not in required + optional:
                raise self.error(key, where, f"unknown field (expected {', '.join(required + optional)})")
            if name in values:
                raise self.error(key, where, "given twice")
            values[name] = value
        for name in required:
            if name not in values:
                raise self.error(node, f"{field}.{name}" if field else name, "missing (required)")
        return values

    def text(self, node: Node, field: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null" or not node.value.strip():
            raise self.error(node, field, "expected non-empty text")
        return node.value.strip()

    def texts(self, node: Node, field: str) -> tuple[str, ...]:
        return tuple(self.text(item, f"{field}[{n}]") for n, item in enumerate(self.sequence(node, field)))

    def sequence(self, node: Node, field: str, allow_empty: bool = False) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, field, "expected a list")
        if not node.value and not allow_empty:
            raise self.error(node, field, "expected at least one item")
        return node.value

    def whole_number(self, node: Node, field: str) -> int:
        if not isinstance(node, ScalarNode) or not node.value.isdigit():
            raise self.error(node, field, "expected a whole number")
        return int(node.value)

    def seconds(self, node: Node, field: str) -> float:
        """`m:ss` or seconds, from the start of the encounter."""
        value = node.value.strip() if isinstance(node, ScalarNode) else ""
        clock = CLOCK.fullmatch(value)
        if clock:
            return int(clock[1]) * 60 + float(clock[2])
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds < 0:
            raise self.error(node, field, f"expected a time as m:ss or seconds, got {value!r}")
        return seconds


def load_scenario(path: Path) -> Scenario:
    """Read one scenario file and check it against the schema."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ScenarioError(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from exc
    fields = _Fields(path)
    if root is None:
        raise ScenarioError(f"{path}:1: empty file; see scenarios/README.md for the fields")
    top = fields.mapping(
        root,
        "",
        ("id", "title", "case", "patient", "challenges", "objectives", "checklist"),
        ("dialogue", "references"),
    )
    scenario_id = fields.text(top["id"], "id")
    if not ID_PATTERN.fullmatch(scenario_id) or scenario_id != path.stem:
        raise fields.error(
            top["id"],
            "id",
            f"{scenario_id!r} must be the file name without .yaml ({path.stem!r}), "
            "in lowercase letters, digits and hyphens",
        )
    challenges = tuple(
        _challenge(fields, node, f"challenges[{n}]")
        for n, node in enumerate(fields.sequence(top["challenges"], "challenges", allow_empty=True))
    )
    dialogue = _dialogue(fields, top["dialogue"], challenges) if "dialogue" in top else ()
    return Scenario(
        id=scenario_id,
        title=fields.text(top["title"], "title"),
        case=_case(fields, top["case"]),
        patient=_persona(fields, top["patient"]),
        challenges=challenges,
        objectives=fields.texts(top["objectives"], "objectives"),
        checklist=fields.texts(top["checklist"], "checklist"),
        dialogue=dialogue,
        references=fields.texts(top["references"], "references") if "references" in top else (),
    )


def _case(fields: _Fields, node: Node) -> Case:
    case = fields.mapping(node, "case", ("setting", "presentation"), ("details",))
    return Case(
        setting=fields.text(case["setting"], "case.setting"),
        presentation=fields.text(case["presentation"], "case.presentation"),
        details=fields.text(case["details"], "case.details") if "details" in case else "",
    )


def _persona(fields: _Fields, node: Node) -> Persona:
    patient = fields.mapping(node, "patient", ("name", "brief"), ("age",))
    return Persona(
        name=fields.text(patient["name"], "patient.name"),
        brief=fields.text(patient["brief"], "patient.brief"),
        age=fields.whole_number(patient["age"], "patient.age") if "age" in patient else None,
    )


def _challenge(fields: _Fields, node: Node, field: str) -> Challenge:
    item = fields.mapping(node, field, ("label", "cue"), ("at", "notes"))
    label = fields.text(item["label"], f"{field}.label")
    if label not in MOMENT_LABELS:
        raise fields.error(
            item["label"], f"{field}.label", f"{label!r} is not a taxonomy moment label ({', '.join(MOMENT_LABELS)})"
        )
    return Challenge(
        challenge=label,
        text=fields.text(item["cue"], f"{field}.cue"),
        at=fields.seconds(item["at"], f"{field}.at") if "at" in item else None,
        notes=fields.text(item["notes"], f"{field}.notes") if "notes" in item else "",
    )


def _dialogue(fields: _Fields, node: Node, challenges: tuple[Challenge, ...]) -> tuple[Line, ...]:
    """The script; the k-th line marked `challenge` speaks the k-th scripted challenge's cue."""
    lines = []
    pending = list(challenges)
    for n, item_node in enumerate(fields.sequence(node, "dialogue")):
        field = f"dialogue[{n}]"
        item = fields.mapping(item_node, field, ("role",), ("text", "challenge"))
        role = fields.text(item["role"], f"{field}.role")
        if role not in ROLES:
            raise fields.error(item["role"], f"{field}.role", f"{role!r} is not a role ({' or '.join(ROLES)})")
        if "challenge" not in item:
            if "text" not in item:
                raise fields.error(item_node, f"{field}.text", "missing (required unless the line is a challenge)")
            lines.append(Line(role, fields.text(item["text"], f"{field}.text")))
            continue
        label = fields.text(item["challenge"], f"{field}.challenge")
        if "text" in item:
            raise fields.error(
                item["text"], f"{field}.text", "a challenge line speaks its challenge's cue; remove text"
            )
        if role != "patient":
            raise fields.error(item["role"], f"{field}.role", "only the patient delivers a challenge")
        if not pending or pending[0].challenge != label:
            expected = f"the next scripted challenge is {pending[0].challenge!r}" if pending else "no challenge is left"
            raise fields.error(item["challenge"], f"{field}.challenge", f"{label!r} out of order: {expected}")
        lines.append(Line(role, pending.pop(0).text, label))
    if pending:
        raise fields.error(node, "dialogue", f"never delivers the scripted challenge {pending[0].challenge!r}")
    return tuple(lines)


def load_library(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    """Every scenario in the directory, checked, in file name order."""
    return [load_scenario(path) for path in sorted(directory.glob("*.yaml"))]


def find_scenario(scenario_id: str, directory: Path = SCENARIO_DIR) -> Scenario:
    """The scenario with this id (its file is `<id>.yaml`)."""
    path = directory / f"{scenario_id}.yaml"
    if not ID_PATTERN.fullmatch(scenario_id) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
        raise ScenarioError(f"no scenario {scenario_id!r} in {directory} (known: {known})")
    return load_scenario(path)


def scenario_or_none(scenario_id: str | None) -> Scenario | None:
    """The encounter's scenario, or None when it has none or it was removed from the library since:
    its moments are then reported without a script."""
    if scenario_id is None:
        return None
    try:
        return find_scenario(scenario_id)
    except ScenarioError:
        return None
