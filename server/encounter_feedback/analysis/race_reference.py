"""Does a turn refer to race at all? A lexicon that guards the moment detector's precision.

The taxonomy defines a moment as a turn that *brings race into the encounter*. A statistical
model trained on written examples also learns their style (emotion, "you", "they", pushback),
and real visits are full of that style with no racial element: alone, it flags several turns
an hour of ordinary clinical talk. So the detector only flags a turn that refers to race:

- **explicit** (`EXPLICIT`): a racial, ethnic or national group, race and racism named, the
  history of racism in medicine, skin colour and appearance, race-coded stereotypes, and "people
  like me" phrasings. Colour words in their clinical or everyday senses do not count ("white
  blood cells", "black stool", "the white ones", "turned black"), nor do surnames ("Dr. White");
- **implicit** (`IMPLICIT`): cues that often carry race in these encounters but are common in
  ordinary talk too ("assume", "trust", "my name", "police"), and the vocabulary of unfair
  treatment that does not say which kind ("discriminated", "prejudice", "stereotype", "bias":
  accounts of sexism, homophobia or ableism use the same words). The detector needs much
  stronger evidence for these (analysis/classifier.py). Words that are everyday clinical talk far
  more often than a racial cue ("I'm assuming", "legal proxy", "anyone else in the family",
  "security", "my face") are not cues at all.

Text is matched after `classifier.normalize_text` (lowercase, no punctuation, no apostrophes).
Training reads these rules too: a corpus turn that `could_be_moment` is a hard negative, kept
when the easy ones are thinned (training/examples.py). An edit that changes that for a single
training negative changes the whole seeded sample, so it needs `encounter train`, not only
`--settings-only` (the fast test `test_the_shipped_encoders_learned_the_examples_this_code_builds`
tells).
"""

from __future__ import annotations

import re
from enum import IntEnum

_NOT_CLINICAL = (
    r"(?!\s+(blood|count|counts|cell|cells|patch|patches|pill|pills|coat|spots?|discharge|stool|stools|tarry|"
    r"out|outs|eye|eyes|ice|coffee|mold|lung|heads?|diamond|friday|lab|beans?|noise|house|wine|bread|rice|board|belt|"
    r"box|car|truck|cat|dog|lie|knuckl\w*|matter|tongue|film|coating|plaque|fluid|mucus|phlegm|sputum|urine|nails?|tea|"
    r"and blue|widow|hole|market|tie|flag|lines?|dots?|cross|sox|pepper|fish|sugar|meat|paper|part(?! of town)|stuff|"
    r"thing)\b)"
)
"""A colour word followed by one of these is a colour, not a race ("white blood cells", "black stool")."""

_NAME_OR_CHANGE = "".join(
    rf"(?<!\b{word} )"
    for word in (
        "doctor",
        "dr",
        "mr",
        "mrs",
        "ms",
        "miss",
        "nurse",
        "professor",
        "officer",
        "turned",
        "turning",
        "turns",
        "gone",
        "went",
        "going",
    )
)
"""A colour word after one of these is a surname ("doctor white") or a colour change ("turned black")."""

_AMONG_COLOURS = "".join(
    rf"(?<!\b{colour} {conjunction} )"
    for colour in ("dark", "tarry", "bloody", "red", "maroon", "grey", "gray", "yellow", "green", "purple", "blue")
    for conjunction in ("or", "and")
)
"""A colour word listed after another colour or a clinical look is a colour ("dark or tarry or black")."""

_COLOURS = _NAME_OR_CHANGE + _AMONG_COLOURS + r"(black|white|brown)" + _NOT_CLINICAL
"""Colour words naming race: only outside their clinical and everyday senses, names and colour changes."""

_GROUPS = (
    r"blacks|blackness|whites|african|afro|latino|latina|latinos|latinas|latinx|hispanic|hispanics|"
    r"mexican|chicano|chicana|salvadoran|guatemalan|honduran|colombian|venezuelan|peruvian|brazilian|dominican|"
    r"puerto rican|cuban|haitian|jamaican|caribbean|trinidadian|cape verdean|somali|nigerian|ghanaian|ghana|yoruba|"
    r"igbo|ethiopian|eritrean|kenyan|congolese|asian|asians|chinese|korean|japanese|vietnamese|filipino|filipina|hmong|"
    r"cambodian|laotian|thai|indian|pakistani|bangladeshi|gujarati|punjabi|sikh|sikhs|turban|arab|arabs|arabic|"
    r"palestinian|syrian|iraqi|iranian|persian|afghan|lebanese|yemeni|muslim|muslims|islam|hijab|native|natives|navajo|"
    r"dine|lakota|dakota|ojibwe|cherokee|apache|hopi|lumbee|cree|tribe|tribal|reservation|indigenous|pacific islander|"
    r"samoan|tongan|hawaiian|gullah|geechee|creole|jewish|immigrant|immigrants|immigration|refugee|refugees|ethnic|"
    r"ethnicity|minority|minorities|people of color|poc|bipoc|mixed race|biracial|multiracial|negro|n word|colored|"
    r"pocahontas"
)
"""Racial, ethnic, national and religious groups."""

_HISTORY = (
    r"tuskegee|syphilis study|henrietta|marion sims|sterilized|sterilization|sterilizations|appendectomies|internment|"
    r"boarding schools?|slavery|slaves|enslaved|sharecroppers?|segregation|segregated|jim crow|redlining|lynching|"
    r"civil rights"
)
"""The history of racism, in medicine and beyond, that mistrust refers to."""

_LIKE_ME = (
    r"(people|folks|someone|somebody|patients?|women|woman|men|man|girls?|guys?|families|family|kids|anybody|nobody|"
    r"everybody|mothers|moms) (like|who look like|that look like|who looks like|that looks like) (me|us|mine|ours)"
)
"""'People like me': race in these encounters, unless the turn says which other group it means."""

_RACISM_AND_APPEARANCE = (
    r"race|races|racial|racially|racism|racist|racists|my color|your color|our color|skin color|skin tone|skin like|"
    r"dark skin|darker skin|"
    r"dark skinned|light skinned|lighter skinned|complexion|melanin|natural hair|dreadlocks|locs|ghetto|the hood|"
    r"inner city|side of town|zip code|soul food|fried chicken|collard greens|watermelon|articulate|well spoken|"
    r"speak so well|speak really well|sickler|called me boy|code switch|code switching|"
    r"you people|your people|my people|our people|our community|my community|your community|you folks|"
    r"one of your own|different face|"
    rf"{_LIKE_ME}|"
    r"one look at me|took one look|the way i look|how i look|what i look like|what we look like|what i looked like|"
    r"look like me|looks like me|look like us|if i was white|if i were white|if i looked|"
    r"where im from|where im really from"
)
"""Racism named, and race referred to through skin, hair, place, food, speech and "people like me"."""

EXPLICIT = re.compile(r"\b(" + "|".join((_COLOURS, _GROUPS, _HISTORY, _RACISM_AND_APPEARANCE)) + r")\b")

_RACE_CODED_CUES = (
    r"guessing|guessed|government|"
    r"police|cops|followed me|papers|illegal|undocumented|green card|citizen|foreign|spanish|"
    r"interpreter|english|the border|south side|(if|whether) (i|we|he|she) (was|were|is|am) legal|your culture|welfare|"
    r"wic|single mom|baby daddy|rapper|nanny|pimp|crack|"
    r"gangs?|thug|boy|heritage|ancestors|ancestry|"
    r"experiments?|experimented|guinea pigs?|"
    r"history with (us|our|people|doctors|hospitals|this)|"
    r"our history|what they did|what was done|"
    r"did to us|test on us|used us|neighborhood|"
    r"projects|public housing|yall|lighter|darker|appearance|blond|blonde|blue eyes|my hair|braids|braided|"
    r"edges|profiling|profiled|systemic"
)
"""Implicit cues that carry race in these encounters: place, papers, heritage, hair, history."""

_SHARED_CUES = (
    r"accent|medicaid|afford|food stamps|tradition|culture|cultural|culturally|my name|your name|"
    r"last name|would you ask|would you say that|would you treat|would you do that|would you talk|do you treat|"
    r"your own|drug seeking|drug seeker|treat us|treated us|see us"
)
"""Implicit cues that carry race in these encounters as often as another ground (a rural accent, a
trans patient's name, Medicaid, a history of addiction, "would you treat a man like that?"): race,
unless the turn names the other ground. ("Interpreter" is one too, for a deaf patient, but moving
it here changes the training sample, and the rebuild that did read dev worse: models/README.md,
Limitations, builds tried.)"""

_UNFAIRNESS_CUES = (
    r"assume|assumed|assumes|assumption|trust|trusting|bias|biased|stereotypes?|stereotyped|stereotyping|"
    r"prejudice|prejudiced|discriminate|discriminated|discrimination|people like|folks like|families like|women like|"
    r"men like|someone like|somebody like|patients like|look at me|looked at me|looking at me|looked like|"
    r"they always|they never|record|did you ask|didnt ask|do you believe|if i was|if i were"
)
"""Implicit cues that are the vocabulary of unfair treatment of any kind, not only of race."""

RACE_CODED = re.compile(rf"\b({_RACE_CODED_CUES})\b")
IMPLICIT = re.compile(rf"\b({_RACE_CODED_CUES}|{_SHARED_CUES}|{_UNFAIRNESS_CUES})\b")


OTHER_GROUNDS = re.compile(
    r"\b(sexist|sexism|misogyn\w*|(im|as|being|for) a (woman|girl|female)|emotional woman|young women|"
    r"women (always|get|cant|my age|in)|(?<!our )(women|men) (are|have|shouldnt|should|just)|most women|"
    r"to the men|is a man|male doctors?|hysterical|sweetheart|pretty head|hormones|"
    r"my husbands (signature|permission)|maternity leave|"
    r"gay|lesbian|queer|bisexual|homophobi\w*|same sex|sex with (men|women)|came out (to|as)|lgbt\w*|"
    r"(when|after|since) i came out|reparative|a phase|two moms|two dads|real mom|sexual history|prep|"
    r"(when|after|once) i (said|mentioned|told \w+|brought up) (that )?"
    r"my (partners?|husbands?|wifes?|wife|boyfriends?|girlfriends?)|"
    r"trans|transgender|nonbinary|non binary|pronouns|my old name|dead ?nam\w*|genitals|called me it|"
    r"disabled|disabilities|ableis\w*|wheelchair|hard of hearing|service dog|autistic|autism|"
    r"cerebral palsy|epilepsy|stutter|(?<!like im )deaf|sign language|(im|i am|being|because im|theyre) blind|"
    r"down syndrome|schizophreni\w*|bipolar|seizure disorder|mental illness|multiple sclerosis|my ms|a cane|"
    r"my walker|communication device|caregiver|"
    r"ageis\w*|elderly|at my age|for my age|too old|too young|senior citizens?|old (man|woman|lady)|normal aging|"
    r"senile|when (youre|you are|your) old|just (your|my) age|over (seventy|eighty|ninety)|"
    r"(im|i am|shes|hes) (seventy|eighty|ninety)[- a-z]*|"
    r"overweight|obese|obesity|bmi|fat (people|folks|patients?)|bigger (people|folks)|lose (some )?weight|my size|"
    r"lost \w+ pounds|big(ger)? (blood pressure )?cuff|(ate|eat) less|diet plan|"
    r"poor people|homeless|no insurance|without insurance|sliding scale|trailer park|rich (people|folks|patients)|"
    r"(im|were|being|because im|too) poor|working folks|freeloader|"
    r"state insurance|(a|the) shelter|"
    r"jehovahs? witness|atheist|christian scientist|mormon|"
    r"country folks?|appalachia\w*|rural|redneck|hillbilly|veterans?|"
    r"(talked|talking|spoke|speaking|explained \w+|turned|asked|handed \w+) to my (husband|boyfriend|aide)|"
    r"called me (hon|honey|sweetie|dear|young lady)|"
    r"gender|misgender\w*|testosterone|estrogen|transitioned|transitioning|my transition|top surgery|"
    r"gender marker|says (male|female)|"
    r"what i really (was|am)|down there|"
    r"(?<!on )disability|my chair|power chair|amputee|prosthe\w*|paralyzed|paraplegic|quadriplegic|asl|"
    r"read lips|lip reading|hearing aids?|"
    r"psych (patient|hold|ward|unit|history)|psychiatric (history|hold|diagnosis)|"
    r"my (depression|anxiety|diagnosis|ptsd)|antidepressants?|panic attacks?|eating disorder|"
    r"in recovery|years clean|used to (use|drink)|"
    r"when i was using|using again|"
    r"older (patients|workers|adults)|dementia|(at|for) your age|"
    r"gastric bypass|bariatric|plus size|fatphob\w*|"
    r"minimum wage|sleeping in my car|living in my car|paycheck to paycheck|"
    r"deployments?|burn pits?|"
    r"farm|ranch|the sticks|holler)\b"
)
"""Grounds of unfair treatment other than race, named: sex and gender, sexuality, gender identity,
disability, age, weight, class, religion, place. An account of those is not a racially charged
moment (the taxonomy's hard negatives), whatever words of unfairness it shares with one."""


def names_another_ground(normalized: str) -> bool:
    """Whether a (normalized) turn is about unfair treatment on another ground than race: it names
    one (`OTHER_GROUNDS`), no racial group ("people like me" then means the group it named) and no
    cue that carries race only (papers, "your culture", the border, hair: `RACE_CODED`). Cues that
    other grounds share (an accent, a name, Medicaid: `_SHARED_CUES`) then mean
    the ground the turn named."""
    return bool(OTHER_GROUNDS.search(normalized)) and not (
        EXPLICIT.search(re.sub(_LIKE_ME, "", normalized)) or RACE_CODED.search(normalized)
    )


class Reference(IntEnum):
    NONE = 0
    IMPLICIT = 1
    EXPLICIT = 2


def race_reference(normalized: str) -> Reference:
    """How plainly a (normalized) turn refers to race: explicitly, only through an implicit cue, or not at all."""
    if EXPLICIT.search(normalized):
        return Reference.EXPLICIT
    if IMPLICIT.search(normalized):
        return Reference.IMPLICIT
    return Reference.NONE
