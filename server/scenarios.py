"""Standardized-patient scenarios: YAML case scripts in `scenarios/`.

A scenario names the case, briefs the patient actor and scripts a dialogue in which some
patient lines are racial challenges (labelled with a `moment` label from the taxonomy).
The demo and the test fixtures speak that dialogue with TTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ROLES = ("patient", "provider")
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Line:
    """One scripted turn."""

    role: str
    text: str
    challenge: str | None = None
    """The `moment` label this line is written to present, if it is a racial challenge."""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    patient_brief: str
    dialogue: tuple[Line, ...]


def load_scenario(path: Path) -> Scenario:
    """Read and check one scenario file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping with id, title, patient and dialogue")
    for key in ("id", "title", "patient", "dialogue"):
        if key not in data:
            raise ScenarioError(f"{path}: missing field '{key}'")
    lines = []
    for n, item in enumerate(data["dialogue"], start=1):
        if not isinstance(item, dict) or item.get("role") not in ROLES or not str(item.get("text", "")).strip():
            raise ScenarioError(f"{path}: dialogue line {n} needs a role ({' or '.join(ROLES)}) and text")
        lines.append(Line(item["role"], str(item["text"]).strip(), item.get("challenge")))
    return Scenario(
        id=str(data["id"]),
        title=str(data["title"]),
        patient_brief=str(data["patient"].get("brief", "")).strip(),
        dialogue=tuple(lines),
    )


def find_scenario(scenario_id: str, directory: Path = SCENARIO_DIR) -> Scenario:
    """The bundled scenario with this id."""
    for path in sorted(directory.glob("*.yaml")):
        scenario = load_scenario(path)
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
    raise ScenarioError(f"no scenario {scenario_id!r} in {directory} (known: {known})")
