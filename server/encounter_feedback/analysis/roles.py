"""Which of two voices is the provider: told from what each one said.

A clinical interview is asymmetric: the provider asks (history taking is mostly questions) and
talks about the patient ("you", "your"), the patient answers and talks about themself ("I",
"my"). Each voice gets a score, the share of its sentences that are questions plus the share of
its personal pronouns that are second person, and the voice with the higher score is the
provider. The gap between the two scores is the confidence: on real consultations it is
large (0.5 or more), and a small gap is reported as a guess. Faculty can swap the two roles of
an encounter in the debrief when it is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from encounter_feedback.analysis.encoder import plain_punctuation

_SENTENCES = re.compile(r"[^.?!]+[.?!]*")
_WORDS = re.compile(r"[a-z']+")
SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'll", "you'd"})
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"})
CONFIDENT_GAP = 0.3
"""A score gap at least this large is reported as confident."""


@dataclass(frozen=True)
class VoiceText:
    """What one voice said, counted."""

    sentences: int
    questions: int
    second_person: int
    first_person: int

    @classmethod
    def of(cls, text: str) -> VoiceText:
        sentences = [s.strip() for s in _SENTENCES.findall(text) if s.strip()]
        words = _WORDS.findall(plain_punctuation(text).lower())
        return cls(
            sentences=len(sentences),
            questions=sum(s.endswith("?") for s in sentences),
            second_person=sum(w in SECOND_PERSON for w in words),
            first_person=sum(w in FIRST_PERSON for w in words),
        )

    @property
    def score(self) -> float:
        """Question share plus second-person share: higher sounds like the provider."""
        questions = self.questions / self.sentences if self.sentences else 0.0
        pronouns = self.second_person + self.first_person
        you = self.second_person / pronouns if pronouns else 0.5
        return questions + you

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences,
            "questions": self.questions,
            "you": self.second_person,
            "I": self.first_person,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class RoleAssignment:
    """Which voice is the provider, with the evidence for the summary."""

    provider: int
    """Index of the provider's voice (the other is the patient)."""
    evidence: tuple[VoiceText, VoiceText]
    gap: float

    @property
    def confident(self) -> bool:
        return self.gap >= CONFIDENT_GAP

    @property
    def roles(self) -> dict[int, str]:
        """Voice index to role."""
        return {self.provider: "provider", 1 - self.provider: "patient"}

    def explain(self) -> str:
        provider, patient = self.evidence[self.provider], self.evidence[1 - self.provider]
        return (
            f"the provider is the voice that asked more and said 'you' more: "
            f"{provider.questions} of {provider.sentences} sentences were questions and "
            f"{provider.second_person} 'you' against {provider.first_person} 'I', versus "
            f"{patient.questions} of {patient.sentences}, {patient.second_person} and {patient.first_person} "
            f"for the patient ({'confident' if self.confident else 'a guess'}: score gap {self.gap:.2f})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "text: questions and second-person pronouns",
            "confident": self.confident,
            "gap": round(self.gap, 3),
            "provider": self.evidence[self.provider].to_dict(),
            "patient": self.evidence[1 - self.provider].to_dict(),
            "explanation": self.explain(),
        }


def assign_roles(texts: tuple[str, str]) -> RoleAssignment:
    """Which of two voices' transcripts is the provider's."""
    evidence = (VoiceText.of(texts[0]), VoiceText.of(texts[1]))
    provider = 0 if evidence[0].score >= evidence[1].score else 1
    return RoleAssignment(provider, evidence, abs(evidence[0].score - evidence[1].score))
