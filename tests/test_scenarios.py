"""The scenario library: bundled scenarios load and follow the schema, and broken files say
which file, line and field to fix."""

from __future__ import annotations

import json

import pytest
import yaml

from encounter_feedback.cli.main import main
from encounter_feedback.errors import UserError
from encounter_feedback.scenarios import SCENARIO_DIR, ScenarioError, find_scenario, load_library, load_scenario
from encounter_feedback.taxonomy import MOMENT_LABELS

VALID = """\
id: case
title: A case
case:
  setting: clinic
  presentation: headache
patient:
  name: Ms. Test
  age: 40
  brief: Plays it straight.
challenges:
  - label: mistrust
    at: "1:30"
    cue: Why would I trust you?
objectives:
  - Respond to mistrust.
checklist:
  - Acknowledges the history
dialogue:
  - role: provider
    text: Hello.
  - role: patient
    challenge: mistrust
"""


def test_bundled_scenario_has_a_racial_challenge():
    scenario = find_scenario("ed-pain-dismissed")
    [challenge] = scenario.challenges
    assert challenge.label == "discrimination_disclosure" and "Black" in challenge.cue and challenge.at == 60.0
    [line] = [line for line in scenario.dialogue if line.challenge]
    assert (line.role, line.text) == ("patient", challenge.cue)  # the dialogue speaks the scripted cue
    assert {line.role for line in scenario.dialogue} == {"patient", "provider"}


def test_the_library_covers_the_challenges_in_the_literature_and_a_control():
    library = load_library()
    assert [p.stem for p in sorted(SCENARIO_DIR.glob("*.yaml"))] == [s.id for s in library]
    labels = {c.label for s in library for c in s.challenges}
    assert {"discrimination_disclosure", "mistrust", "provider_bias_challenge", "stereotype_reaction"} <= labels
    assert labels <= set(MOMENT_LABELS)
    assert any(not s.challenges for s in library), "a control scenario without a challenge"
    for scenario in library:
        assert 8 <= len(scenario.dialogue) <= 14, scenario.id  # short enough to synthesize for the demo
        assert {line.role for line in scenario.dialogue} == {"patient", "provider"}
        assert [line.challenge for line in scenario.dialogue if line.challenge] == [
            c.label for c in scenario.challenges
        ]
        assert scenario.objectives and scenario.checklist and scenario.case.presentation and scenario.patient.brief
    tuskegee = find_scenario("research-mistrust-tuskegee")
    assert "Tuskegee" in tuskegee.challenges[0].cue and tuskegee.challenges[0].at == 120.0


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "  - label: mistrust\n",
            "  - label: racism\n",
            11,
            "challenges[0].label",
            "'racism' is not a taxonomy moment label",
        ),
        ("objectives:\n  - Respond to mistrust.\n", "", 1, "objectives", "missing (required)"),
        ("  brief: Plays", "  bref: Plays", 9, "patient.bref", "unknown field (expected name, brief, age)"),
        (
            "  - role: provider\n",
            "  - role: nurse\n",
            19,
            "dialogue[0].role",
            "'nurse' is not a role (patient or provider)",
        ),
        (
            '    at: "1:30"\n',
            "    at: soon\n",
            12,
            "challenges[0].at",
            "expected a time as m:ss or seconds, got 'soon'",
        ),
        ("  age: 40\n", "  age: forty\n", 8, "patient.age", "expected a whole number"),
        (
            "    cue: Why would I trust you?\n",
            "    cue: Why would I trust you?\n    kind: hint\n",
            14,
            "challenges[0].kind",
            "'hint' is not a challenge kind (line or situational)",
        ),
        (
            "    cue: Why would I trust you?\n",
            "    cue: Why would I trust you?\n    microaggressions:\n      - label: validation\n        text: Fair.\n",
            15,
            "challenges[0].microaggressions[0].label",
            "'validation' is not a taxonomy microaggression label (colorblind, minimizing,",
        ),
        ("challenges:\n", "race_themed: maybe\nchallenges:\n", 10, "race_themed", "expected true or false"),
        ("id: case\n", "id: other\n", 1, "id", "'other' must be the file name without .yaml ('case')"),
        (
            "    challenge: mistrust\n",
            "    text: Fine.\n",
            19,
            "dialogue",
            "never delivers the scripted challenge 'mistrust'",
        ),
        (
            "    challenge: mistrust\n",
            "    challenge: mistrust\n    text: Hi.\n",
            23,
            "dialogue[1].text",
            "a challenge line speaks its challenge's cue; remove text",
        ),
        (
            "  - role: provider\n    text: Hello.\n",
            "  - role: provider\n    challenge: mistrust\n",
            19,
            "dialogue[0].role",
            "only the patient delivers a challenge",
        ),
        (
            "checklist:\n  - Acknowledges the history\n",
            "checklist: []\n",
            16,
            "checklist",
            "expected at least one item",
        ),
        ("title: A case\n", "title: A case\ntitle: Again\n", 3, "title", "given twice"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, old, new, line, field, message):
    path = tmp_path / "case.yaml"
    assert old in VALID
    path.write_text(VALID.replace(old, new))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(raised.value).startswith(f"{path}:{line}: {field}: {message}")


def test_valid_file_loads_and_broken_yaml_or_unknown_ids_are_clear(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text(VALID)
    scenario = load_scenario(path)
    assert scenario.challenges[0].at == 90.0 and scenario.dialogue[1].text == "Why would I trust you?"
    assert main(["scenarios", str(path)]) == 0
    assert "case: A case; challenges: mistrust at 1:30; dialogue: 2 lines" in capsys.readouterr().out
    assert main(["scenarios", str(SCENARIO_DIR / "fertility-family-size.yaml")]) == 0
    listed = "provider_bias_challenge at 0:45 (situational, 5 scripted microaggressions)"
    assert listed in capsys.readouterr().out
    path.write_text(VALID.replace("  setting: clinic\n", "  setting: [clinic\n"))
    with pytest.raises(ScenarioError, match=rf"^{path}:\d+: not valid YAML: "):
        load_scenario(path)
    path.write_text("")
    with pytest.raises(ScenarioError, match=rf"^{path}:1: empty file"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="no scenario 'nope'"):
        find_scenario("nope")
    path.write_text(VALID.replace("  - label: mistrust\n", "  - label: racism\n"))
    assert main(["scenarios", str(path)]) == 2
    assert f"encounter: error: {path}:11: challenges[0].label: 'racism'" in capsys.readouterr().err


def test_a_scenario_saved_in_a_legacy_encoding_says_which_line_and_how_to_save_it(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_bytes(VALID.replace("Plays it straight.", "Plays it straight \u2013 calm.").encode("cp1252"))
    with pytest.raises(UserError, match=r"case.yaml: line 9: not UTF-8 text \(byte 0x96\)"):
        load_scenario(path)
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_scenario(path).id == "case"


def test_every_problem_is_reported_at_once_in_line_order(tmp_path):
    path = tmp_path / "case.yaml"
    broken = (
        VALID.replace("title: A case\n", "title:\n")
        .replace("  brief: Plays", "  bref: Plays")
        .replace("    cue: Why", "    cue: ''\n    tone: Why")
    )
    path.write_text(broken)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(raised.value).splitlines() == [
        f"{path}:2: title: expected non-empty text",
        f"{path}:9: patient.bref: unknown field (expected name, brief, age)",
        f"{path}:13: challenges[0].cue: expected non-empty text",
        f"{path}:14: challenges[0].tone: unknown field "
        "(expected label, cue, kind, window, at, notes, microaggressions)",
        f"{path}:7: patient.brief: missing (required)",  # last: the misspelt field above is the one to fix
    ]
    path.write_text(VALID.replace("    challenge: mistrust\n", "    challenge: identity_statement\n"))
    with pytest.raises(ScenarioError, match=rf"^{path}:22: dialogue\[1\].challenge: 'identity_statement' out of order"):
        load_scenario(path)


def test_schema_command_prints_the_json_schema_of_a_scenario_file(capsys):
    assert main(["scenarios", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["additionalProperties"] is False
    assert schema["required"] == ["id", "title", "case", "patient", "challenges", "objectives", "checklist"]
    assert schema["$defs"]["Challenge"]["properties"]["label"]["enum"] == list(MOMENT_LABELS)
    assert schema["$defs"]["Line"]["properties"]["role"]["enum"] == ["patient", "provider"]
    for path in SCENARIO_DIR.glob("*.yaml"):  # the library uses no field the schema lacks
        data = yaml.safe_load(path.read_text())
        assert set(data) <= set(schema["properties"]), path
        for name, definition in (("case", "Case"), ("patient", "Persona")):
            assert set(data[name]) <= set(schema["$defs"][definition]["properties"]), (path, name)


def test_a_scenario_says_whether_its_case_is_race_themed_and_how_long_a_challenge_is_open(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(VALID)
    assert load_scenario(path).race_themed  # scripted challenges: race-themed unless it says otherwise
    assert not find_scenario("control-ankle-sprain").race_themed
    path.write_text(VALID.replace("challenges:\n", "race_themed: false\nchallenges:\n"))
    assert not load_scenario(path).race_themed
    [situation] = find_scenario("fertility-family-size").challenges
    assert situation.kind == "situational" and situation.window == 180.0
    [line] = find_scenario("bias-question").challenges
    assert line.kind == "line" and line.window is None
