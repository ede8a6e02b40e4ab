"""Does a provider turn name the patient's feeling empathically, checking or legitimizing it?

Naming the emotion is the first move of empathic communication in the clinical literature (the
NURSE statements: Name, Understand, Respect, Support, Explore; Back, Arnold and Tulsky,
*Mastering Communication with Seriously Ill Patients*, 2009; Pollak et al., J Clin Oncol 2007):
"It sounds like that left you furious. Is that right?" The reply encoder reads many such turns
as `pathologizing`, because its pathologizing examples name a feeling too ("You seem upset, so
let's calm down"): of 96 empathy replies the project wrote later (`corpus/next`, round 14a,
never trained on), it coded 32 so. What tells the two apart is what the turn does with the
feeling. Empathy checks the naming with the patient ("is that right?", "more angry or more
scared?") or says it is fitting ("that makes sense", "I'd be furious too"); pathologizing turns
it against the patient: a contrast ("..., but"), and the reaction as the problem ("calm down",
"too sensitive", "that anxiety"). A closed list of words decides, as for interjections.

Text is matched after `classifier.normalize_text` (lowercase, no punctuation, no apostrophes).
"""

from __future__ import annotations

import re

_FEELINGS = (
    r"angry|anger|mad|furious|livid|pissed|outraged|frustrated|frustrating|frustration|upset|upsetting|hurt|hurts|"
    r"hurting|hurtful|sad|sadness|heartbroken|devastated|scared|scary|afraid|fear|frightened|terrified|worried|worry|"
    r"worries|tired|exhausted|worn (you )?down|discouraged|disrespected|disrespect|humiliated|humiliating|ashamed|"
    r"embarrassed|shaken|rattled|betrayed|invisible|alone|lonely|fed up|wary|distrust|mistrust|insulted|violated|"
    r"grief|grieving|powerless|helpless|unsafe|unsettled|disappointed|singled out|stung|stings"
)
FEELING = re.compile(rf"\b({_FEELINGS})\b")
"""Words naming a feeling. Not "anxious", "anxiety", "emotional", "stressed": the words a turn
uses to make the patient's reaction the problem."""

CHECK_OR_LEGITIMIZE = re.compile(
    r"\b(is that (right|correct|close|fair|true|it|how|what)|did i get (that|it) right|"
    r"am i (reading|getting|right|off)|(do|does) that (sound|fit|feel) right|or (is it|am i|something else|more)|"
    r"(more|mostly) \w+ or (more|mostly|some)|"
    r"which (one|is it)|how (are|is) (that|it|you) (feel|feeling)|(makes|make) (total |complete |perfect )?sense|"
    r"(i|id|i would|i d) (be|feel|have been)|anyone would|anybody would|who wouldnt|of course you (would|were)|"
    r"no wonder)\b"
)
"""A check of the naming with the patient, or words that say the feeling fits what happened."""

CONTRAST = re.compile(r"\b(but|though|however|although|still|yet)\b")
"""Turning from the feeling to something else: "I can hear you're angry, but ..."."""

PATHOLOGIZING = re.compile(
    r"\b(calm|settle|worked up|work yourself|sensitive|oversensitive|overreact\w*|personally|emotional|emotions|"
    r"heated|defensive|paranoid|catastroph\w*|hysterical|dramatic|dial|breath|breathe|attitude|anxiety|anxious|"
    r"hostile|aggressive|intimidating|overprotective|proportion|reading (too much|into)|dwell\w*|guarded\w*|"
    r"tone|relax|stress|stressed|therapy|therapist|counsel\w*|screen you|treat that)\b"
)
"""The reaction made the problem, or something to treat."""

CONFIDENCE = 24 / 25
"""How often such a turn coded `pathologizing` was a responsive reply, by Laplace's rule, over every
first reply to a moment in the train and dev splits and `corpus/next` that the rule turns: 23
right, none wrong, (23 + 1) / (23 + 2). Of the 2,140 microaggressions among those replies it
turned none. The lists were written after reading round 14a, so 22 of the 23 are in-sample."""


def names_feeling_empathically(normalized: str) -> bool:
    """Whether a (normalized) provider turn names a feeling and checks or legitimizes it, with no
    contrast and nothing that makes the patient's reaction the problem."""
    return bool(
        FEELING.search(normalized)
        and CHECK_OR_LEGITIMIZE.search(normalized)
        and not CONTRAST.search(normalized)
        and not PATHOLOGIZING.search(normalized)
    )
