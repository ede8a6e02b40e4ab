"""Moment and response labels (taxonomy v1, `../shared/spec/taxonomy.md`) and the cues measured on
a reply to a moment: stable identifiers.

The classifier, the events, the exports, `encounter classify` and the dashboard (which reads them
from `GET /api/taxonomy`) all use exactly these strings.
"""

from __future__ import annotations

MOMENT_LABELS = (
    "discrimination_disclosure",
    "mistrust",
    "provider_bias_challenge",
    "identity_statement",
    "stereotype_reaction",
)
"""A patient turn that brings race, racism or racialized treatment into the encounter."""

MICROAGGRESSIONS = (
    "colorblind",
    "minimizing",
    "defensive",
    "deflecting",
    "pathologizing",
    "stereotyping",
    "meritocracy",
)
RESPONSIVE = ("validation", "empathy", "exploration", "accountability", "commitment")
RESPONSE_LABELS = MICROAGGRESSIONS + RESPONSIVE
"""How a provider answered a moment; `None` is ordinary clinical talk (neutral)."""

GROUPS = ("microaggression", "responsive", "neutral")

CASES = ("general", "race_themed")
"""Taxonomy v1.1: in a `race_themed` case (the SP presents racial challenges) a turn that challenges
the provider's fairness, recounts being dismissed, disbelieved or labelled, or voices group mistrust
is a moment even with no race word; in a `general` case the v1 rule stands (it must refer to race)."""

STANDALONE = ("stereotyping", "colorblind", "pathologizing", "meritocracy")
"""Response labels a provider turn can earn on its own, with no moment before it (v1.1: every
provider turn is screened). `deflecting` needs a moment to move away from; the responsive labels
and the others answer one."""

REPLY_MEASURE_UNITS = {
    "speech_rate": "syll/s",
    "pitch": "st",
    "pitch_variability": "st",
    "loudness": "dBFS",
}
"""Cue kinds measured on the provider's reply to a moment, each against the provider's own
baseline, and their units (analysis/dynamics.py says which acoustic figure each one is)."""

SCHEMES = ("moment", "response", "group")
"""The three ways codes are compared with a coder's (`encounter agreement`): moment labels,
response labels, and response groups."""


def group_of(response: str | None) -> str:
    """`microaggression`, `responsive`, or `neutral` (no response label)."""
    if response is None:
        return "neutral"
    if response in MICROAGGRESSIONS:
        return "microaggression"
    if response in RESPONSIVE:
        return "responsive"
    raise ValueError(f"unknown response label {response!r}")


NOTE_TAGS = {
    "validated": "named or affirmed the patient's experience",
    "explored": "invited the patient to say more",
    "deflected": "moved on without taking up what the patient raised",
    "interrupted": "cut the patient off",
    "ask_about_this": "talk this through with the student",
}
"""Words faculty tag a note with, beside its free text (a note's `tags`); the debrief offers them
in this order, on keys 1 to 5."""

ASSESSMENT_RATINGS = {
    "objective": {
        "met": "the student met the objective",
        "partly_met": "the student partly met it",
        "not_met": "the student did not meet it",
        "not_observed": "the encounter gave no occasion to observe it",
    },
    "checklist": {"done": "the student did it", "not_done": "the student did not do it"},
}
"""How faculty rate a scenario's learning objectives and tick its checklist (`assessment` events)."""

RESPONSIVENESS_SCALE = {
    -3: "strong, immediate negative reaction",
    -2: "strong negative reaction at any time",
    -1: "mild negative reaction, or ignoring the challenge",
    0: "passive reaction",
    1: "mild positive reaction",
    2: "strong positive reaction at any time",
    3: "strong, immediate positive reaction",
}
"""The seed study's 7-point responsiveness to a racial challenge (Kanter et al. 2020), with each
point's anchor; "immediate" means the provider's first turn after the challenge."""
