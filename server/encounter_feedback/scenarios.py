"""Standardized-patient scenarios: the YAML case library in `scenarios/` (schema: scenarios/README.md).

A scenario describes the case, briefs the patient actor, scripts the racial challenges the SP
presents (the cue line, labelled with a taxonomy `moment` label, and when to say it), and lists
the learning objectives and the faculty checklist. An optional dialogue script lets the demo
and the benchmarks speak the encounter with TTS. The summary reports each scripted challenge
as detected or not.

The pydantic models below are the schema: they check a file, they are what callers get, and
they give SP authors a JSON Schema (`encounter scenarios --schema`). A new field is one line
in its model. The YAML is composed once into a node tree with line marks, and each error's
location (`challenges.0.label`) is looked up in that tree, so every error names the file, the
line and the field an SP author has to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLES
from encounter_feedback.resources import bundled_dir
from encounter_feedback.taxonomy import MICROAGGRESSIONS, MOMENT_LABELS
from encounter_feedback.textfiles import read_text

SCENARIO_DIR = bundled_dir("scenarios")
ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
CLOCK = re.compile(r"(\d+):([0-5]?\d(?:\.\d+)?)")
MESSAGES = {
    "missing": "missing (required)",
    "string_type": "expected non-empty text",
    "string_too_short": "expected non-empty text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "tuple_type": "expected a list",
    "too_short": "expected at least one item",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}
"""Pydantic's error types in an SP author's words (other errors keep pydantic's message)."""

Location = tuple[str | int, ...]


class ScenarioError(UserError):
    """A scenario file that cannot be used; the message names the file, the line and the field."""


def _either(choices: tuple[str, ...]) -> str:
    return " or ".join(choices) if len(choices) < 3 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not {what} ({_either(choices)})")
        return value

    return check


def _seconds(value: Any) -> float:
    """`m:ss` or seconds from the start of the encounter (YAML itself reads an unquoted 1:30 as 90)."""
    text = str(value).strip()
    clock = CLOCK.fullmatch(text)
    if clock:
        return int(clock[1]) * 60 + float(clock[2])
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < math.inf:
        raise ValueError(f"expected a time as m:ss or seconds, got {value!r}")
    return seconds


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Texts = Annotated[tuple[Text, ...], Field(min_length=1)]
MomentLabel = Annotated[
    Text,
    AfterValidator(_one_of(MOMENT_LABELS, "a taxonomy moment label")),
    WithJsonSchema({"type": "string", "enum": list(MOMENT_LABELS)}),
]
MicroaggressionLabel = Annotated[
    Text,
    AfterValidator(_one_of(MICROAGGRESSIONS, "a taxonomy microaggression label")),
    WithJsonSchema({"type": "string", "enum": list(MICROAGGRESSIONS)}),
]
Role = Annotated[
    Text, AfterValidator(_one_of(ROLES, "a role")), WithJsonSchema({"type": "string", "enum": list(ROLES)})
]
Seconds = Annotated[
    float,
    BeforeValidator(_seconds),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": f"^{CLOCK.pattern}$"}]}),
]


def _errors(problems: list[tuple[Location, str]], value: Any) -> ValidationError:
    """Errors below the value being validated: pydantic puts the value's own location in front,
    so each error still leads to the YAML line of the field to fix."""
    return ValidationError.from_exception_data(
        "Scenario",
        [
            InitErrorDetails(
                type=PydanticCustomError("scenario", "{message}", {"message": message}), loc=loc, input=value
            )
            for loc, message in problems
        ],
    )


class _Mapping(BaseModel):
    """A mapping in a scenario file. Unknown keys are errors, so a typo (`bref:`) does not pass
    silently; the JSON Schema says so too (additionalProperties: false), so editors flag them."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Case(_Mapping):
    """The clinical case: where the encounter happens and what the patient comes in with."""

    setting: Text
    presentation: Text
    """The chief complaint."""
    details: Text = ""
    """History, findings, anything the SP and faculty need."""


class Persona(_Mapping):
    """Who the standardized patient plays."""

    name: Text
    brief: Text
    """Who they are, what happened to them, how they react to good and poor replies."""
    age: Annotated[int, Field(ge=0)] | None = None


CHALLENGE_KINDS = ("line", "situational")


class ScriptedMicroaggression(_Mapping):
    """A reply the case's author knows would be a microaggression in this challenge's situation."""

    label: MicroaggressionLabel
    """The taxonomy response label it earns (`stereotyping`, `pathologizing`, ...)."""
    text: Text
    """An example of it, as a student might say it."""


class Challenge(_Mapping):
    """One scripted racial challenge; the summary matches detected moments against its label and cue."""

    label: MomentLabel
    """The taxonomy `moment` label the cue is written to present."""
    cue: Text
    """The line the SP is scripted to say (they may say it in their own words); for a situational
    challenge, the line that sets up the situation."""
    kind: Annotated[
        Text,
        AfterValidator(_one_of(CHALLENGE_KINDS, "a challenge kind")),
        WithJsonSchema({"type": "string", "enum": list(CHALLENGE_KINDS)}),
    ] = "line"
    """`line`: the cue itself challenges the provider. `situational`: the challenge is the
    situation the cue sets up (a Black mother of five asking about fertility treatment), and the
    moment is how the provider handles it: their turns in the window are coded as replies."""
    window: Seconds | None = None
    """How long after the cue the provider's turns answer it, m:ss or seconds (default: 1:30
    for a line, 3:00 for a situation)."""
    at: Seconds | None = None
    """Intended timing, m:ss (quoted) or seconds from the start of the encounter."""
    notes: Text = ""
    """Delivery notes for the SP."""
    microaggressions: tuple[ScriptedMicroaggression, ...] = ()
    """Replies that would be microaggressions here although they name no race (a joke about the
    size of her family): a provider turn in the window that says the same, and that the reply
    model reads as more likely a microaggression than not, earns the scripted label."""


class Line(_Mapping):
    """One turn of the dialogue script."""

    role: Role
    text: Text = ""
    """What is said; a challenge line has none of its own and speaks its challenge's cue."""
    challenge: MomentLabel | None = None
    """The `moment` label of the scripted challenge this (patient) line delivers."""

    @model_validator(mode="after")
    def _text_or_challenge(self) -> Line:
        if self.challenge is None and not self.text:
            raise _errors([(("text",), "missing (required unless the line is a challenge)")], self)
        if self.challenge is not None and self.text:
            raise _errors([(("text",), "a challenge line speaks its challenge's cue; remove text")], self)
        if self.challenge is not None and self.role != "patient":
            raise _errors([(("role",), "only the patient delivers a challenge")], self)
        return self


class Scenario(_Mapping):
    """One standardized-patient case (a file `<id>.yaml` in the library)."""

    id: Text = Field(json_schema_extra={"pattern": f"^{ID_PATTERN.pattern}$"})
    """The file name without .yaml: lowercase letters, digits and hyphens."""
    title: Text
    case: Case
    patient: Persona
    challenges: tuple[Challenge, ...]
    """The scripted challenges in the order the SP presents them; empty in a control scenario."""
    race_themed: bool = False
    """Whether the SP presents racial challenges in this case (taxonomy v1.1): dismissal, being
    labelled, a challenge to the provider's fairness or group mistrust are then moments even
    with no race word. Default: true when the scenario scripts challenges."""
    objectives: Texts
    """Learning objectives."""
    checklist: Texts
    """Observable behaviours faculty tick."""
    dialogue: Annotated[tuple[Line, ...], Field(min_length=1)] = ()
    """A short script the demo and benchmarks speak with TTS; each challenge line gets its cue."""
    references: Texts = ()
    """The literature the case is modelled on."""

    @model_validator(mode="before")
    @classmethod
    def _race_themed_when_challenged(cls, data: Any) -> Any:
        if isinstance(data, dict) and "race_themed" not in data:
            return {**data, "race_themed": bool(data.get("challenges"))}
        return data

    @field_validator("id")
    @classmethod
    def _names_its_file(cls, value: str, info: ValidationInfo) -> str:
        stem = (info.context or {}).get("file_stem", value)
        if not ID_PATTERN.fullmatch(value) or value != stem:
            raise ValueError(
                f"{value!r} must be the file name without .yaml ({stem!r}), in lowercase letters, digits and hyphens"
            )
        return value

    @field_validator("dialogue")
    @classmethod
    def _delivers_each_challenge_in_order(cls, lines: tuple[Line, ...], info: ValidationInfo) -> tuple[Line, ...]:
        """The k-th line marked `challenge` speaks the k-th scripted challenge's cue, so the script
        and the summary never disagree."""
        if "challenges" not in info.data:  # the challenges have errors of their own
            return lines
        pending: list[Challenge] = list(info.data["challenges"])
        spoken = []
        for n, line in enumerate(lines):
            if line.challenge is not None:
                if not pending or pending[0].label != line.challenge:
                    expected = f"the next scripted challenge is {pending[0].label!r}" if pending else "none is left"
                    raise _errors([((n, "challenge"), f"{line.challenge!r} out of order: {expected}")], lines)
                line = line.model_copy(update={"text": pending.pop(0).cue})
            spoken.append(line)
        if pending:
            raise ValueError(f"never delivers the scripted challenge {pending[0].label!r}")
        return tuple(spoken)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for SP authors' editors (YAML language servers read it)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Scenario.model_json_schema()}


def load_scenario(path: Path) -> Scenario:
    """Read one scenario file and check it against the schema."""
    try:
        loader = yaml.SafeLoader(read_text(path))
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ScenarioError(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from exc
    if root is None:
        raise ScenarioError(f"{path}:1: empty file; see scenarios/README.md for the fields")
    repeated = [f"{path}:{_line(key)}: {_field(loc)}: given twice" for loc, key in _repeated_keys(root)]
    if repeated:
        raise ScenarioError("\n".join(repeated))
    try:
        return Scenario.model_validate(data, context={"file_stem": path.stem})
    except ValidationError as exc:
        # Missing fields last: often one was misspelt, and its unknown spelling is the line to fix.
        errors = sorted(exc.errors(), key=lambda e: (e["type"] == "missing", _line(_node_at(root, e))))
        raise ScenarioError(
            "\n".join(f"{path}:{_line(_node_at(root, e))}: {_field(e['loc'])}: {_message(e)}" for e in errors)
        ) from None


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


def _node_at(root: Node, error: ErrorDetails) -> Node:
    """The node an error is about: the value at its location, an unknown field's key, or (for a
    missing field) the deepest mapping on the way there."""
    node = root
    for step in error["loc"]:
        child = None
        if isinstance(node, MappingNode):
            pair = next(((key, value) for key, value in node.value if _key(key) == step), None)
            if pair is not None:
                child = pair[0] if error["type"] == "extra_forbidden" and step == error["loc"][-1] else pair[1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return node


def _repeated_keys(node: Node, loc: Location = ()) -> Iterator[tuple[Location, Node]]:
    """Keys given twice in one mapping, which YAML would silently resolve to the last."""
    if isinstance(node, MappingNode):
        seen = set()
        for key, value in node.value:
            if _key(key) in seen:
                yield (*loc, _key(key)), key
            seen.add(_key(key))
            yield from _repeated_keys(value, (*loc, _key(key)))
    elif isinstance(node, SequenceNode):
        for n, item in enumerate(node.value):
            yield from _repeated_keys(item, (*loc, n))


def _key(node: Node) -> str:
    """A mapping key's text (scenario files only use text keys)."""
    return node.value if isinstance(node, ScalarNode) else "?"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _field(loc: Location) -> str:
    """`challenges[0].label` for the location ('challenges', 0, 'label')."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc).lstrip(".") or "scenario"


def _message(error: ErrorDetails) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if error["type"] == "extra_forbidden":
        return f"unknown field (expected {_field_names(error['loc'][:-1])})"
    if error["type"] == "model_type":
        return f"expected a mapping with {_field_names(error['loc'])}"
    return MESSAGES.get(error["type"], error["msg"])


def _field_names(loc: Location) -> str:
    """The fields of the mapping at `loc`: name, brief, age for ('patient',)."""
    model: Any = Scenario
    for step in loc:
        if isinstance(step, str):
            model = _model_in(model.model_fields[step].annotation)
    return ", ".join(model.model_fields)


def _model_in(annotation: Any) -> Any:
    """The model a field holds: Persona for Persona, Line for tuple[Line, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((model for model in map(_model_in, get_args(annotation)) if model is not None), None)
