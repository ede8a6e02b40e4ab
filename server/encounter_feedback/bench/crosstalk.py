"""`encounter bench crosstalk`: words transcribed twice by two role microphones in one room, before
and after cross-talk suppression (speech/crosstalk.py).

No real two-laptop recording is at hand, so the microphones are simulated: each hears its own
speaker plus the other one `LEAK_DB` quieter and a few milliseconds later (`DELAYS_MS`), and
the provider says a backchannel during a patient line, which must survive. Material: the
bundled scenario's dialogue in two TTS voices, and, where ../shared/data is present, the real
two-voice stereo clip (speech/stereo_diarization.wav, one voice per channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE, decode_file
from encounter_feedback.media.tts import render_dialogue, synthesize
from encounter_feedback.pipeline.offline import without_crosstalk
from encounter_feedback.scenarios import find_scenario
from encounter_feedback.speech.asr import AsrEngine
from encounter_feedback.speech.crosstalk import duplicated_words
from encounter_feedback.speech.transcribe import Track, transcribe_tracks

LEAK_DB = -12.0
"""How much quieter each microphone hears the other person."""
DELAYS_MS = {"patient": 4.0, "provider": 7.0}
"""How late each microphone hears the other person (about 1.4 m and 2.4 m)."""
BACKCHANNEL = "Okay."
BENCH_VOICES = {"provider": "en-us+m3", "patient": "en-us+f2"}
DEMO_SCENARIO = "bias-question"


def delayed(samples: np.ndarray, ms: float) -> np.ndarray:
    """`samples` `ms` milliseconds later, same length."""
    n = min(len(samples), round(ms * SAMPLE_RATE / 1000))
    return np.concatenate([np.zeros(n, dtype=np.float32), samples[: len(samples) - n]])


def leaky_microphones(
    voices: dict[str, np.ndarray], leak_db: float = LEAK_DB, delays_ms: dict[str, float] = DELAYS_MS
) -> dict[str, np.ndarray]:
    """What a microphone per role hears: its own speaker, plus the other one attenuated and delayed."""
    gain = np.float32(10 ** (leak_db / 20))
    (a, x), (b, y) = voices.items()
    return {a: x + gain * delayed(y, delays_ms[a]), b: y + gain * delayed(x, delays_ms[b])}


def with_backchannel(provider: np.ndarray, at_s: float, voice: str) -> tuple[np.ndarray, float, float]:
    """The provider's track with a spoken backchannel added at `at_s`, and where it is (t0, t1)."""
    clip = synthesize(BACKCHANNEL, voice) * np.float32(0.7)
    start = round(at_s * SAMPLE_RATE)
    out = provider.copy()
    out[start : start + len(clip)] += clip[: len(out) - start]
    return out, at_s, at_s + len(clip) / SAMPLE_RATE


@dataclass(frozen=True)
class CrosstalkRow:
    name: str
    minutes: float
    words: tuple[int, int]
    """Words transcribed, before and after suppression."""
    duplicated: tuple[int, int]
    """Words heard twice, before and after."""
    backchannel_kept: bool | None


def measure(
    name: str, mics: dict[str, np.ndarray], engine: AsrEngine, backchannel: tuple[float, float] | None
) -> CrosstalkRow:
    """Transcribe both microphones as recorded and with cross-talk suppressed; count duplicates."""
    tracks = [Track(role, samples) for role, samples in mics.items()]
    results = []
    for version in (tracks, without_crosstalk(tracks)[0]):
        results.append([segment for segment, _ in transcribe_tracks("bench", version, engine)])
    kept = None
    if backchannel is not None:
        t0, t1 = backchannel
        kept = any(
            s.speaker == "provider" and "okay" in s.text.lower() and s.t0 <= t1 + 0.5 and s.t1 >= t0 - 0.5
            for s in results[1]
        )
    minutes = max(len(s) for s in mics.values()) / SAMPLE_RATE / 60
    return CrosstalkRow(
        name,
        minutes,
        (sum(len(s.words) for s in results[0]), sum(len(s.words) for s in results[1])),
        (duplicated_words(results[0]), duplicated_words(results[1])),
        kept,
    )


def bench_crosstalk(engine: AsrEngine, stereo: Path | None) -> list[CrosstalkRow]:
    """The TTS dialogue with a backchannel, and the real stereo clip when given."""
    lines = [(line.role, line.text) for line in find_scenario(DEMO_SCENARIO).dialogue]
    dialogue = render_dialogue(lines, gap_s=0.6, voices=BENCH_VOICES)
    patient_line = next(p for p in dialogue.placements if p.role == "patient" and p.t1 - p.t0 > 3.0)
    provider, t0, t1 = with_backchannel(dialogue.tracks["provider"], patient_line.t0 + 1.0, BENCH_VOICES["provider"])
    rows = [
        measure(
            "tts dialogue",
            leaky_microphones({"patient": dialogue.tracks["patient"], "provider": provider}),
            engine,
            (t0, t1),
        )
    ]
    if stereo is not None:
        channels = decode_file(stereo).channels
        rows.append(
            measure(stereo.name, leaky_microphones({"patient": channels[0], "provider": channels[1]}), engine, None)
        )
    return rows


def format_crosstalk(rows: list[CrosstalkRow]) -> str:
    lines = [
        f"leak {LEAK_DB:.0f} dB, delays {DELAYS_MS['patient']:.0f}/{DELAYS_MS['provider']:.0f} ms",
        f"{'material':<26} {'min':>5} {'words before/after':>18} {'dup/min before':>14} {'dup/min after':>13} "
        f"{'backchannel':>11}",
    ]
    for row in rows:
        before, after = (d / row.minutes for d in row.duplicated)
        kept = "-" if row.backchannel_kept is None else ("kept" if row.backchannel_kept else "LOST")
        lines.append(
            f"{row.name:<26} {row.minutes:5.2f} {row.words[0]:>9}/{row.words[1]:<8} {before:14.1f} {after:13.1f} "
            f"{kept:>11}"
        )
    return "\n".join(lines)
