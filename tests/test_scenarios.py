"""Bundled scenarios load, and broken files say what is wrong."""

from __future__ import annotations

import pytest

from server.scenarios import SCENARIO_DIR, ScenarioError, find_scenario, load_scenario


def test_bundled_scenario_has_a_racial_challenge():
    scenario = find_scenario("ed-pain-dismissed")
    challenges = [line for line in scenario.dialogue if line.challenge]
    assert [c.role for c in challenges] == ["patient"]
    assert challenges[0].challenge == "discrimination_disclosure" and "Black" in challenges[0].text
    assert {line.role for line in scenario.dialogue} == {"patient", "provider"}


def test_every_file_in_scenarios_loads():
    assert all(load_scenario(p).dialogue for p in SCENARIO_DIR.glob("*.yaml"))


def test_errors_name_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: y\npatient: {brief: z}\ndialogue:\n  - role: nurse\n    text: hi\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: dialogue line 1 needs a role"):
        load_scenario(bad)
    bad.write_text("id: x\ntitle: y\n")
    with pytest.raises(ScenarioError, match="missing field 'patient'"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="no scenario 'nope'"):
        find_scenario("nope")
