"""Does a provider turn condemn the clinician the patient told about?

"Some doctors are just idiots." said right after a patient recounts how a doctor treated them
takes the patient's side: Kanter et al.'s (2020) coders score it as validation. The reply
encoder reads it as `minimizing`, because the corpus's minimizing replies share its shape ("some
doctors are just old-school", "he was probably just tired"): an excuse in the same frame. What
tells them apart is the word in the frame: a condemnation (idiot, rude, out of line) or an
excuse. A closed list decides, as for interjections and named feelings; a turn that also
excuses, contrasts ("..., but most of us care") or speaks for all clinicians ("not all doctors")
is left to the encoder.

Text is matched after `classifier.normalize_text` (lowercase, no punctuation, no apostrophes).
"""

from __future__ import annotations

import re

from encounter_feedback.analysis.named_feelings import CONTRAST

_CLINICIAN = (
    r"(that|the|your|this|those|these|some|his|her|their)( \w+)? (doctors?|docs?|nurses?|physicians?|residents?|"
    r"providers?|surgeons?|pharmacists?|receptionists?|staff|guys?|man|woman|person|people|ones?)|"
    r"doctors|nurses|he|she|they"
)
_PEJORATIVE = (
    r"idiots?|jerks?|fools?|morons?|rude|unprofessional|out of line|ignorant|incompetent|clueless|disrespectful|"
    r"awful|terrible|horrible|wrong|racist|biased|prejudiced|a disgrace|disgraceful|unacceptable|bad doctors?"
)
_INTENSIFIERS = r"just|really|so|such|totally|completely|plain|way|like|being|an?|flat out|straight up"
CONDEMNS = re.compile(
    rf"\b(?:(?:{_CLINICIAN}) (?:is|are|was|were|being|acted|behaved)|hes|shes|theyre)"
    rf"(?: (?:{_INTENSIFIERS}))* (?:{_PEJORATIVE})\b"
)
"""A clinician said to be, or to have acted, a pejorative."""

EXCUSE = re.compile(
    r"\b(not all|not every|busy|tired|stressed|overworked|exhausted|human|didnt mean|probably|maybe|might|"
    r"sometimes|most of us|rest of us|i am not|im not)\b"
)
"""An excuse for the clinician, or a defence of the profession, beside the condemnation."""

EXCUSED = ("minimizing", "defensive")
"""The codes the encoder gives such a turn when it takes the condemnation for an excuse."""

CONFIDENCE = 13 / 15
"""How often a first reply to a moment that the rule matches was validation, by Laplace's rule,
over the train and dev splits and `corpus/next`: 12 of 13 (the other is `exploration`),
(12 + 1) / (13 + 2). The encoder codes 12 of them right already; the rule turns one (round 14b's
"some doctors are just jerks and he was one", read as `minimizing`), and none of the 2,140
microaggressions among those replies."""


def condemns_clinician(normalized: str) -> bool:
    """Whether a (normalized) provider turn condemns a clinician, with no excuse, contrast or
    defence of the profession beside it."""
    return bool(CONDEMNS.search(normalized) and not CONTRAST.search(normalized) and not EXCUSE.search(normalized))
