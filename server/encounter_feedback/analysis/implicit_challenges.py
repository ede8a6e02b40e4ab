"""The implicit challenges every race-themed case has, as example lines for sentence similarity.

Taxonomy v1.1 says what a race-themed case makes a moment with no race word: a challenge to
the provider's fairness, an account of being dismissed, disbelieved or labelled (drug-seeking,
angry, non-compliant), group mistrust. The race-themed encoder head learned this from the
corpus, but it reads a story told in words unlike the corpus's with little confidence (a dev
story of a patient taken for a drug seeker at a glance: P(moment) 0.28). These lines state
each kind of challenge plainly, so that a turn saying one of them in other words
(`analysis/classifier.py`, `thresholds["challenge"]`) is flagged even when the encoder is
unsure, as a scenario's own cue lines are. Unlike cue lines they carry no label: the
encoder's label is taken.

Written for this project from the taxonomy's definition (2026-12-07); none is a quotation. A
turn needs both keys: similarity at or above `thresholds["challenge"]` and P(moment) at or
above `thresholds["challenge_floor"]`, both chosen on the dev split (training/calibrate.py),
so a turn that only shares the topic ("they gave me some pain medicine") is rarely taken.
"""

from __future__ import annotations

IMPLICIT_CHALLENGES = (
    # a challenge to the provider's fairness, asking to be taken seriously
    "Are you going to take me seriously, or just brush me off too?",
    "Will you treat me the same way you would treat anybody else?",
    "I need to know you will actually listen to me this time.",
    # dismissed
    "The last doctor barely looked at me and sent me home.",
    "They rushed me out like I didn't matter to them.",
    "Nobody listened to me when I said something was wrong.",
    # disbelieved
    "They didn't believe me when I told them how much pain I was in.",
    "The doctor acted like I was making it all up.",
    # labelled: drug-seeking, angry, non-compliant
    "They treated me like I was only there to get pain pills.",
    "They looked at me like some drug seeker.",
    "As soon as I raised my voice they called me aggressive and called security.",
    "They assumed I wasn't taking my medicine without even asking me.",
    # group mistrust
    "Doctors have a long history of experimenting on people like us.",
    "People in my community don't trust hospitals, and for good reason.",
    "They judged me before I even opened my mouth.",
)
