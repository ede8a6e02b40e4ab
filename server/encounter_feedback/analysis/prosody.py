"""Prosody of one utterance: when speech really starts and stops, pitch, level and rate.

    utterance clip (16 kHz mono float32) -> measure_audio   -> Acoustics          (pure; ~5 ms CPU per s)
    Acoustics + the segment's words      -> utterance_prosody -> UtteranceProsody (pure; microseconds)

`measure_audio` is the only costly step, and needs no words: the live server can run it in a
worker thread as soon as the endpointer cuts the utterance, while Whisper decodes it.

**Timing.** The VAD decides in 32 ms frames and Whisper's word times are off by about 0.1 s,
too coarse for turn-taking (gaps and overlaps are often 100-300 ms). So the speech inside an
utterance clip is found again from its level in 10 ms frames: frames within
`ACTIVITY_RANGE_DB` of the clip's loudest frame are speech, gaps under `PAUSE_MIN_S` are
bridged (stop closures, not pauses), and what is left between speech runs is a pause.

**Pitch.** `librosa.yin` with our own voicing decision (normalized autocorrelation at the
period yin found, `VOICING_THRESHOLD`). pYIN decides voicing itself and makes about half as
many octave errors, but costs 0.17-0.19 CPU-seconds per second of audio on this machine (a
third of the ASR's 0.5-0.7) against 0.005 for all of `measure_audio`; both agree with Praat to
a median of about 0.1 semitone on real speech (tests/test_prosody.py). Pitch is reported in semitones re 27.5 Hz,
as in eGeMAPS (Eyben et al. 2016), so it is comparable across voices and with that feature set.

Every time here is in seconds; `audio_t0` places a clip on the encounter clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from encounter_feedback.speech.utterances import Utterance

HOP_S = 0.010
"""Frame step of every contour here (pitch, level), seconds."""
LEVEL_WINDOW_S = 0.020
"""Window of the level contour, seconds: short, so onsets are placed to about 10 ms."""
FMIN_HZ = 65.0
"""Lowest F0 searched: below the lowest usual male speaking pitch (~85 Hz)."""
FMAX_HZ = 500.0
"""Highest F0 searched: above raised female speech; a higher ceiling only adds octave errors."""
PITCH_FRAME = 1024
"""Samples per pitch frame (64 ms at 16 kHz): two periods of FMIN_HZ, as YIN needs."""
VOICING_THRESHOLD = 0.6
"""A frame is voiced when its normalized autocorrelation at the yin period reaches this.
Chosen on jfk.flac and three osce-dev consultations against Praat: at 0.5, 6-15% of our voiced
frames are unvoiced to Praat; at 0.7 we miss up to a quarter of Praat's voiced frames; 0.6
sits between (Praat's own 0.45 applies to its differently normalized autocorrelation)."""
ACTIVITY_RANGE_DB = 35.0
"""A frame is speech when its level is within this many dB of the clip's loudest frame: speech
spans about 30-40 dB from stressed vowels down to weak fricatives."""
ACTIVITY_FLOOR_DB = -65.0
"""And never below this level (dB re full scale): digital silence and hiss are not speech."""
PAUSE_MIN_S = 0.25
"""Silences at least this long inside an utterance are pauses; shorter ones are bridged.
250 ms is the usual silent-pause threshold in fluency research (De Jong & Bosker 2013): it
keeps stop closures and articulatory gaps out."""
MIN_SPEECH_S = 0.05
"""Speech runs shorter than this (clicks, pops) are dropped."""
MIN_VOICED_FRAMES = 10
"""Fewer voiced frames (100 ms) than this give no F0 statistics (None)."""
REFERENCE_HZ = 27.5
"""Semitone reference (A0), as in eGeMAPS."""

Span = tuple[float, float]


@overload
def hz_to_semitones(f0_hz: float) -> float: ...
@overload
def hz_to_semitones(f0_hz: np.ndarray) -> np.ndarray: ...
def hz_to_semitones(f0_hz: np.ndarray | float) -> np.ndarray | float:
    """F0 in Hz to semitones re 27.5 Hz (eGeMAPS): 12 * log2(f0 / 27.5). 110 Hz -> 24 st."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / REFERENCE_HZ)


def frame_levels_db(
    audio: np.ndarray, sr: int = SAMPLE_RATE, hop_s: float = HOP_S, window_s: float = LEVEL_WINDOW_S
) -> np.ndarray:
    """RMS level per frame in dB re full scale (RMS 1.0 = 0 dB; a full-scale sine is -3 dB).

    Frame k is centred on sample k * hop (time k * hop_s); there are len(audio) // hop + 1
    frames, the same as `pitch_track`. Silence reads -120 dB.
    """
    hop, win = round(hop_s * sr), round(window_s * sr)
    padded = np.pad(np.asarray(audio, dtype=np.float64), win // 2)
    energy = np.concatenate([[0.0], np.cumsum(padded**2)])
    starts = np.arange(len(audio) // hop + 1) * hop
    ends = np.minimum(starts + win, len(padded))
    return 10.0 * np.log10((energy[ends] - energy[starts]) / win + 1e-12)


def speech_runs(levels_db: np.ndarray, hop_s: float = HOP_S, within: Span | None = None) -> list[Span]:
    """Speech stretches, in seconds from the first frame's centre, from a level contour.

    Speech = frames within ACTIVITY_RANGE_DB of the loudest frame and above ACTIVITY_FLOOR_DB;
    gaps under PAUSE_MIN_S are bridged and runs under MIN_SPEECH_S dropped. Each run spans its
    frames' cells (frame k covers k*hop_s +- hop_s/2). With `within` (seconds, same origin),
    only runs that reach into it are kept: the clip's padding may hold a neighbour's speech.
    """
    if len(levels_db) == 0:
        return []
    active = np.concatenate([[False], levels_db >= _speech_threshold(levels_db), [False]])
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    runs = [[a * hop_s - hop_s / 2, b * hop_s - hop_s / 2] for a, b in zip(edges[::2], edges[1::2])]
    merged: list[list[float]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < PAUSE_MIN_S:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    last = (len(levels_db) - 1) * hop_s
    spans = [(max(0.0, float(a)), min(last, float(b))) for a, b in merged if b - a >= MIN_SPEECH_S]
    if within is not None:
        spans = [(a, b) for a, b in spans if b > within[0] and a < within[1]]
    return spans


def _speech_threshold(levels_db: np.ndarray) -> float:
    """The level (dB) from which a frame is speech: ACTIVITY_RANGE_DB below the loudest frame,
    never below ACTIVITY_FLOOR_DB."""
    return max(float(levels_db.max()) - ACTIVITY_RANGE_DB, ACTIVITY_FLOOR_DB)


@dataclass(frozen=True)
class PitchTrack:
    """F0 per 10 ms frame; frame k is centred at `times[k]` seconds from the clip's first sample."""

    times: np.ndarray
    f0_hz: np.ndarray
    """NaN where unvoiced."""

    @property
    def voiced(self) -> np.ndarray:
        return ~np.isnan(self.f0_hz)

    @property
    def semitones(self) -> np.ndarray:
        """F0 in semitones re 27.5 Hz (NaN where unvoiced)."""
        return hz_to_semitones(self.f0_hz)


def pitch_track(
    audio: np.ndarray,
    sr: int = SAMPLE_RATE,
    fmin: float = FMIN_HZ,
    fmax: float = FMAX_HZ,
    hop_s: float = HOP_S,
    levels: np.ndarray | None = None,
) -> PitchTrack:
    """F0 contour of a clip (YIN, see the module doc); frames quieter than speech are unvoiced.

    `levels`: the clip's `frame_levels_db(audio, sr, hop_s)`, if the caller has it already
    (computed here when None).

    Cost: about 4 ms of CPU per second of audio for yin plus the voicing check (the first call
    in a process also compiles librosa's numba kernels, ~2 s: see `warm_up`).
    """
    import librosa  # imported here: it takes a while to load and most callers never need it

    audio = np.asarray(audio, dtype=np.float32)
    hop = round(hop_s * sr)
    n = len(audio) // hop + 1
    if len(audio) < PITCH_FRAME // 2:
        return PitchTrack(np.arange(n) * hop_s, np.full(n, np.nan))
    f0 = librosa.yin(audio, fmin=fmin, fmax=fmax, sr=sr, frame_length=PITCH_FRAME, hop_length=hop)[:n]
    periodicity = _periodicity(audio, f0, sr, fmin, hop)
    if levels is None:
        levels = frame_levels_db(audio, sr, hop_s)
    voiced = (periodicity >= VOICING_THRESHOLD) & (levels >= _speech_threshold(levels))
    return PitchTrack(np.arange(n) * hop_s, np.where(voiced, f0, np.nan))


def _periodicity(audio: np.ndarray, f0: np.ndarray, sr: int, fmin: float, hop: int) -> np.ndarray:
    """Per frame (same framing as librosa.yin, centred), the correlation between the frame and
    itself shifted by one period sr/f0: near 1 for a periodic (voiced) frame, near 0 for noise."""
    import librosa

    frames = librosa.util.frame(np.pad(audio, PITCH_FRAME // 2), frame_length=PITCH_FRAME, hop_length=hop)
    frames = frames[:, : len(f0)].astype(np.float64)
    max_lag = int(np.ceil(sr / fmin))
    width = PITCH_FRAME - max_lag - 1
    lag = np.clip(np.round(sr / f0).astype(int), 1, max_lag)
    a = frames[:width]
    b = np.take_along_axis(frames, np.arange(width)[:, None] + lag[None, :], axis=0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0) + 1e-20)


@dataclass(frozen=True)
class Acoustics:
    """What the audio of one utterance says, on the encounter clock (seconds)."""

    t0: float
    """Refined start of speech."""
    t1: float
    """Refined end of speech."""
    spans: tuple[Span, ...]
    """Speech stretches; the gaps between them are the pauses (each >= PAUSE_MIN_S)."""
    voiced_frames: int
    f0_mean_st: float | None
    """Mean F0 over voiced speech frames, semitones re 27.5 Hz; None under MIN_VOICED_FRAMES."""
    f0_sd_st: float | None
    """Standard deviation of F0, semitones (low: monotonous, "flat")."""
    f0_range_st: float | None
    """80th minus 20th percentile of F0, semitones (eGeMAPS pctlrange0-2: robust to octave errors)."""
    level_db: float | None
    """Level over speech frames, dB re full scale (power mean). A loudness proxy that depends on
    microphone gain: compare a speaker with themself, not across tracks."""
    refined: bool = True
    """False when no speech stood out of the clip and the VAD span was kept as is."""

    @property
    def speech_time(self) -> float:
        """Seconds of speech, pauses excluded."""
        return sum(b - a for a, b in self.spans)

    @property
    def pauses(self) -> list[Span]:
        """Silences inside the utterance (each at least PAUSE_MIN_S)."""
        return [(a[1], b[0]) for a, b in zip(self.spans, self.spans[1:])]


def measure_audio(
    audio: np.ndarray, audio_t0: float, t0: float | None = None, t1: float | None = None, sr: int = SAMPLE_RATE
) -> Acoustics:
    """Speech timing, pitch and level of one utterance clip: the costly, pure half of prosody.

    `audio`: 16 kHz mono float32 with `audio[0]` at encounter time `audio_t0` (s); `t0`/`t1`:
    where the VAD heard speech (s, encounter clock; default the whole clip). Speech runs that do
    not reach into [t0, t1] are ignored. Safe to call from a worker thread.
    """
    audio = np.asarray(audio, dtype=np.float32)
    duration = len(audio) / sr
    lo = 0.0 if t0 is None else t0 - audio_t0
    hi = duration if t1 is None else t1 - audio_t0
    levels = frame_levels_db(audio, sr)
    spans = speech_runs(levels, HOP_S, within=(lo, hi))
    refined = bool(spans)
    if not spans:
        spans = [(max(0.0, lo), min(duration, hi))]
    pitch = pitch_track(audio, sr, levels=levels)
    in_speech = _inside(pitch.times, spans)
    semitones = pitch.semitones[in_speech & pitch.voiced]
    enough = len(semitones) >= MIN_VOICED_FRAMES
    return Acoustics(
        t0=_round(audio_t0 + spans[0][0]),
        t1=_round(audio_t0 + spans[-1][1]),
        spans=tuple((_round(audio_t0 + a), _round(audio_t0 + b)) for a, b in spans),
        voiced_frames=len(semitones),
        f0_mean_st=_round(np.mean(semitones)) if enough else None,
        f0_sd_st=_round(np.std(semitones)) if enough else None,
        f0_range_st=_round(np.percentile(semitones, 80) - np.percentile(semitones, 20)) if enough else None,
        level_db=_level_db(audio, spans, sr),
        refined=refined,
    )


def _inside(times: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    mask = np.zeros(len(times), dtype=bool)
    for a, b in spans:
        mask |= (times >= a) & (times <= b)
    return mask


def _level_db(audio: np.ndarray, spans: Sequence[Span], sr: int) -> float | None:
    """Power mean over the spans, dB re full scale."""
    pieces = [audio[round(a * sr) : round(b * sr)] for a, b in spans]
    samples = np.concatenate(pieces).astype(np.float64) if pieces else np.zeros(0)
    if len(samples) == 0:
        return None
    return _round(10.0 * np.log10(np.mean(samples**2) + 1e-12), 2)


def _round(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def measure_utterance(utterance: Utterance) -> Acoustics:
    """`measure_audio` of an utterance clip, within its VAD span."""
    return measure_audio(utterance.audio, utterance.audio_t0, utterance.t0, utterance.t1)


# -- rates from words ------------------------------------------------------------------------

_VOWELS = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Syllables of one English word, by rule (no dictionary): vowel groups (a e i o u y), less a
    silent final -e ("make"; not "table"), -ed ("walked"; not "wanted") or -es ("makes"; not
    "boxes", "tables"), plus one for -n't after a consonant ("didn't"). Hyphenated parts count
    apart ("mm-hm" = 2), each at least 1. A number counts one per digit (rough). Punctuation: 0.
    Right for most conversational words; off by one on some ("maybe", "being", "seven")."""
    total = 0
    for part in re.split(r"[-\s]+", word.lower()):
        letters = re.sub(r"[^a-z0-9']", "", part)
        if letters.isdigit():
            total += len(letters)
        elif re.search(r"[a-z]", letters):
            total += _part_syllables(letters)
    return total


def _part_syllables(w: str) -> int:
    extra = 0
    if w.endswith("n't"):
        w = w[:-3]
        extra = int(bool(w) and w[-1] not in "aeiouy")
    w = re.sub(r"[^a-z]", "", w)
    n = len(_VOWELS.findall(w))
    consonant_le = len(w) > 3 and w[-4] not in "aeiouy" and w[-3] == "l"  # tab-les, peop-le
    if n > 1 and (
        (w.endswith("e") and not (w[-2] == "l" and w[-3] not in "aeiouy"))
        or (w.endswith("ed") and w[-3] not in "td")
        or (w.endswith("es") and w[-3] not in "aeiouysxzcgh" and not consonant_le)
    ):
        n -= 1
    return max(1, n) + extra


@dataclass(frozen=True)
class UtteranceProsody:
    """An utterance's prosody: its acoustics and its rates (syllables per second)."""

    acoustics: Acoustics
    syllables: int
    speech_rate: float | None
    """Syllables over the whole utterance, pauses included (t1 - t0): slow when hesitant."""
    articulation_rate: float | None
    """Syllables over speech time, pauses of PAUSE_MIN_S or more excluded: how fast they talk."""

    @property
    def t0(self) -> float:
        return self.acoustics.t0

    @property
    def t1(self) -> float:
        return self.acoustics.t1

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON form (seconds, semitones, dB, syllables per second)."""
        body = {k: v for k, v in asdict(self.acoustics).items() if k != "spans"}
        body["spans"] = [list(s) for s in self.acoustics.spans]
        body["pauses"] = [list(p) for p in self.acoustics.pauses]
        return {
            **body,
            "syllables": self.syllables,
            "speech_rate": self.speech_rate,
            "articulation_rate": self.articulation_rate,
        }


MIN_RATE_S = 0.3
"""Utterances with less speech than this get no rate: one syllable over 0.1 s is not a rate."""


def utterance_prosody(acoustics: Acoustics, words: Iterable[dict[str, Any] | str]) -> UtteranceProsody:
    """Add speech and articulation rate (syllables per second) to an utterance's acoustics.

    `words`: the segment's words (`{"w": ...}` dicts or plain strings). Durations come from the
    refined acoustics, not the word times, which are only good to ~0.1 s.
    """
    syllables = sum(count_syllables(w["w"] if isinstance(w, dict) else w) for w in words)
    total, speaking = acoustics.t1 - acoustics.t0, acoustics.speech_time
    return UtteranceProsody(
        acoustics=acoustics,
        syllables=syllables,
        speech_rate=round(syllables / total, 2) if syllables and total >= MIN_RATE_S else None,
        articulation_rate=round(syllables / speaking, 2) if syllables and speaking >= MIN_RATE_S else None,
    )


def warm_up() -> None:
    """Load librosa and compile its numba kernels (~2 s, once per process), e.g. at server start,
    so the first live utterance is not late."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    measure_audio((0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), 0.0)
