"""The seed study's responsiveness scale: how the provider answered a racial challenge, -3 to +3.

Kanter et al. (2020) had blind coders rate each racial challenge on seven points
(`../shared/spec/taxonomy.md`): -3 strong immediate negative, -2 strong negative at any time,
-1 mild negative or ignoring, 0 passive, +1 mild positive, +2 strong positive at any time, +3
strong immediate positive. The system scores every moment (scripted or detected) the same way,
from the codes of the provider's turns in the moment's window and their order:

- each coded turn is a reaction (`REACTION`): a microaggression is strongly negative, except
  `deflecting` (moving on: ignoring the challenge), which is mildly negative; `validation`,
  `accountability` and `commitment` are strongly positive, `empathy` and `exploration` mildly
  positive; a neutral turn ("okay", "mm-hm") is passive;
- "immediate" is the provider's first turn after the challenge (`relation` `immediate`);
- the strongest reaction decides, negative before positive (a microaggression is not undone by
  a kind word later): a strong negative is -3 when immediate, else -2; otherwise a strong
  positive is +3 when immediate, else +2; otherwise the first mild reaction gives -1 or +1;
  only passive turns give 0.

A moment nobody answered has no score (None): the encounter ended, or the SP moved on.
"""

from __future__ import annotations

from collections.abc import Sequence

from encounter_feedback.taxonomy import MICROAGGRESSIONS

SCORES = tuple(range(-3, 4))
REACTION: dict[str | None, int] = {
    **{label: -2 for label in MICROAGGRESSIONS},
    "deflecting": -1,
    "empathy": 1,
    "exploration": 1,
    "validation": 2,
    "accountability": 2,
    "commitment": 2,
    None: 0,
}
"""Each response label's reaction: -2 strong negative ... +2 strong positive, 0 passive."""


def responsiveness(labels: Sequence[str | None]) -> int | None:
    """The score of a moment from the labels of the provider's turns in its window, in order (the
    first is the immediate reply; None is a neutral turn). None when there is no turn."""
    if not labels:
        return None
    reactions = [REACTION[label] for label in labels]
    immediate = reactions[0]
    if min(reactions) == -2:
        return -3 if immediate == -2 else -2
    if max(reactions) == 2:
        return 3 if immediate == 2 else 2
    return next((r for r in reactions if r), 0)
