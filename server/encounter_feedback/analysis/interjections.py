"""Is a provider turn nothing but an interjection of dismay ("Yikes.", "Oof.", "Oh no.")?

Said right after a patient recounts mistreatment, such a turn is the shortest form of
validation: it takes the story as real and as wrong. Kanter et al.'s (2020) coders score
"Yikes." so. The reply encoder cannot read it: no train or dev reply is a bare interjection,
and on its own the word carries almost nothing for a sentence encoder, so it came out neutral,
`minimizing` or `defensive` ("Oof." as `minimizing` at 0.91). Interjections are a closed word
class, so a list decides. Words of doubt or of mere receipt ("Really?", "Seriously?", "Okay.",
"Hm.", "No.") are not on it: they do not say the story was wrong.

Text is matched after `classifier.normalize_text`, as in analysis/race_reference.py.
"""

from __future__ import annotations

import re

_DISMAY = (
    r"oh (no+( no+)*|man|boy|dear|god|gosh|lord|jeez|geez|wow|whoa|my (god|gosh|goodness|lord))|"
    r"my (god|gosh|goodness|lord)|good (grief|lord|god|gosh)|goodness|gosh|wow+|whoa|woah|wowza|oof|ugh+|"
    r"yikes|jeez|geez|yeesh|sheesh|ouch|damn|dang|aw+"
)
DISMAY_ONLY = re.compile(rf"^(?:(?:{_DISMAY})(?: |$))+$")
"""A (normalized) turn made of interjections of dismay and nothing else."""

MAX_WORDS = 8
"""Longer turns say something more, which the encoder reads."""

DISMAY_CONFIDENCE = 8 / 9
"""How often such a first reply was validation on examples no model learned: the seven bare
interjections of dismay the project wrote as replies to a moment (`corpus/next`, round 14b),
all validation, by Laplace's rule, (7 + 1) / (7 + 2)."""


def is_dismay(normalized: str) -> bool:
    """Whether a (normalized) provider turn is only interjections of dismay ("oh no", "ugh yikes")."""
    return 0 < len(normalized.split()) <= MAX_WORDS and DISMAY_ONLY.match(normalized) is not None
