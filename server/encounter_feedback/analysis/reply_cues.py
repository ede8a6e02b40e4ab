"""How the provider answered each racially charged moment: timing and voice of the reply.

A moment's reply is the provider's first floor-taking utterance after the moment began
(analysis/floor.py). Once it has been analysed (or the encounter ended without one):

- `interrupted_disclosure`: how often the provider interrupted the moment's segments;
- `response_latency`: from the end of the moment to the reply (negative: they overlapped);

and once the provider has said enough for a baseline (or at the end), how the reply sounded
against the provider's own other utterances (`REPLY_MEASURES`): value, baseline mean, z-score.
"""

from __future__ import annotations

import statistics
from typing import Any

from encounter_feedback.analysis.floor import CueOut, Floor, Spoken
from encounter_feedback.analysis.prosody import UtteranceProsody
from encounter_feedback.events import Moment
from encounter_feedback.taxonomy import REPLY_MEASURE_UNITS

MIN_BASELINE = 5
"""Fewer of the provider's own utterances than this give no baseline (and no z-score)."""

NO_REPLY = "the provider did not take the floor after the moment before the encounter ended"

REPLY_MEASURES = tuple(  # (cue kind, UtteranceProsody/Acoustics attribute, unit)
    (kind, attr, REPLY_MEASURE_UNITS[kind])
    for kind, attr in (
        ("speech_rate", "speech_rate"),
        ("pitch", "f0_mean_st"),
        ("pitch_variability", "f0_sd_st"),
        ("loudness", "level_db"),
    )
)
"""How the provider's reply to a moment sounded, each against the provider's own baseline."""


class ReplyCues:
    """Reply cues for the moments of one encounter, read off its floor; see the module doc."""

    def __init__(self, floor: Floor, cue: CueOut) -> None:
        self._floor = floor
        self._cue = cue
        self.records: list[dict[str, Any]] = []
        """One per moment, for the summary: its timing cues and how the reply sounded."""
        self._heard: dict[str, Spoken] = {}
        """Every utterance added so far (analysed or not), by segment id: where a moment's segments are."""
        self._unanswered: list[Moment] = []
        self._awaiting_baseline: list[tuple[Moment, Spoken, dict[str, Any]]] = []

    def heard(self, u: Spoken) -> None:
        """An utterance arrived (before it is analysed in time order)."""
        self._heard[u.segment] = u

    def moment(self, moment: Moment) -> None:
        """A patient moment: its cues follow once the provider's reply is analysed."""
        self._unanswered.append(moment)
        self.resolve(final=False)

    def unavailable(self, moment: Moment, reason: str) -> None:
        """A moment whose reply cannot be told (nobody knows who speaks): every cue None, with the reason."""
        self._timing_cues(moment, moment.t0, moment.t1, None, reason)

    def resolve(self, final: bool) -> None:
        """Emit what is now known: timing cues of moments whose reply has been analysed, and the
        prosody cues of replies with a baseline; `final` (the encounter ended): everything left."""
        for moment in list(self._unanswered):
            said = [self._heard[s] for s in (moment.segments or [moment.segment]) if s in self._heard]
            start = min((u.t0 for u in said), default=moment.t0)
            end = max((u.t1 for u in said), default=moment.t1)
            reply = next(
                (u for u in self._floor.utterances if u.speaker == "provider" and u.took_floor and u.t0 > start), None
            )
            if reply is not None or final:
                self._unanswered.remove(moment)
                self._timing_cues(moment, start, end, reply)
        for moment, reply, record in list(self._awaiting_baseline):
            if final or len(self._baseline_utterances(reply)) >= MIN_BASELINE:
                self._awaiting_baseline.remove((moment, reply, record))
                self._prosody_cues(moment, reply, record)

    def _timing_cues(
        self, moment: Moment, start: float, end: float, reply: Spoken | None, unavailable: str | None = None
    ) -> None:
        """interrupted_disclosure and response_latency; the prosody cues wait for a baseline.
        `reply` is None when there was none, or when `unavailable` says why it cannot be told."""
        disclosure = set(moment.segments or [moment.segment])
        interrupted = (
            None
            if unavailable
            else sum(1 for i in self._floor.counts.interruptions if i.by == "provider" and i.segment in disclosure)
        )
        reason = unavailable or (NO_REPLY if reply is None else None)
        latency = round(reply.t0 - end, 3) if reply is not None else None
        record: dict[str, Any] = {
            "moment": moment.id,
            "label": moment.label,
            "t0": start,
            "t1": end,
            "interrupted_disclosure": interrupted,
            "response_latency": latency,
            "reply": reply.segment if reply else None,
        }
        self.records.append(record)
        common = {"speaker": "provider", "other": "patient", "moment": moment.id}
        self._cue(
            "interrupted_disclosure",
            start,
            end,
            value=interrupted,
            unit="count",
            segment=moment.segment,
            reason=unavailable,
            **common,
        )
        r0 = reply.t0 if reply else end
        self._cue(
            "response_latency",
            min(end, r0),
            max(end, r0),
            value=latency,
            unit="s",
            segment=record["reply"],
            reason=reason,
            **common,
        )
        if reply is None:
            for kind, _, unit in REPLY_MEASURES:
                record[kind] = {"value": None, "baseline": None, "z": None, "reason": reason}
                self._cue(kind, end, end, value=None, unit=unit, reason=reason, **common)
        else:
            self._awaiting_baseline.append((moment, reply, record))

    def _prosody_cues(self, moment: Moment, reply: Spoken, record: dict[str, Any]) -> None:
        """Speech rate, pitch, pitch variability and loudness of the reply against the provider's baseline."""
        for kind, attr, unit in REPLY_MEASURES:
            value, baseline, z, why = self._against_baseline(reply, attr)
            record[kind] = {"value": value, "baseline": baseline, "z": z, "reason": why}
            self._cue(
                kind,
                reply.t0,
                reply.t1,
                "provider",
                value,
                unit,
                baseline=baseline,
                z=z,
                other="patient",
                segment=reply.segment,
                moment=moment.id,
                reason=why,
            )

    def _baseline_utterances(self, reply: Spoken) -> list[Spoken]:
        """The provider's analysed utterances other than the reply and acknowledgements."""
        return [u for u in self._floor.utterances if u.speaker == "provider" and u is not reply and not u.backchannel]

    def _against_baseline(
        self, reply: Spoken, attr: str
    ) -> tuple[float | None, float | None, float | None, str | None]:
        """The reply's value, the provider's mean over their other utterances analysed so far,
        and the z-score against them."""
        value = _measure(reply.prosody, attr)
        if value is None:
            return None, None, None, "the reply is too short or unvoiced to measure"
        others = [x for u in self._baseline_utterances(reply) if (x := _measure(u.prosody, attr)) is not None]
        if len(others) < MIN_BASELINE:
            return value, None, None, f"fewer than {MIN_BASELINE} provider utterances for a baseline"
        mean, sd = statistics.fmean(others), statistics.stdev(others)
        z = round((value - mean) / sd, 2) if sd > 0 else None
        return value, round(mean, 3), z, None if z is not None else "the provider's baseline does not vary"


def _measure(prosody: UtteranceProsody, attr: str) -> float | None:
    return getattr(prosody, attr) if hasattr(prosody, attr) else getattr(prosody.acoustics, attr)
