"""Cross-talk between two role microphones in one room: each word transcribed once, under its speaker.

With a laptop per role on one table, each microphone also hears the other person: quieter, and
a few milliseconds later (sound travels about 34 cm per millisecond). Transcribed track by
track, the patient's words would appear twice, once under each role. So before a track goes to
the VAD and ASR, every stretch of it that only carries the other person is muted.

A 50 ms block of track X only carries Y's speaker when both hold:

- Y is louder there (by more than `LOUDER_DB`): the speaker is nearer to Y's microphone;
- most of X's energy there (at least `LEAK_SHARE`) is a delayed, scaled copy of Y: the best
  single-tap prediction of X from Y, with X lagging Y by 1 sample to `MAX_LAG_S`, explains it.

So a word ends up on the louder, earlier track. Real overlapping speech survives: a
backchannel ("okay") said into X while Y's speaker talks is X's own sound, which Y's signal does
not predict, so little of X's energy is explained even though Y is louder. Own speech is never
muted (X is the louder track), and a track that only carries its own voice (headsets, one role
per channel) has nothing explained, so nothing is muted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from encounter_feedback.events import Segment
from encounter_feedback.media.audio import SAMPLE_RATE

MAX_LAG_S = 0.015
"""Longest delay of the leaked copy: about 5 m between the two microphones."""
LOUDER_DB = 1.0
"""The other track must be louder than this over a block for the block to be a leak."""
LEAK_SHARE = 0.5
"""Share of a block's energy a delayed copy of the other track must explain."""
BLOCK_S = 0.05
"""Blocks the decision is made on (hop: half a block)."""
RAMP_S = 0.01
"""Gain changes are spread over this long, so muting does not click."""
_CHUNK = 2048
"""Blocks analysed at once (bounds memory)."""


def leak_mask(own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per block of `own` (hop BLOCK_S / 2): True where it only carries `other`'s speaker, leaked."""
    block = round(BLOCK_S * SAMPLE_RATE)
    hop = block // 2
    lag = round(MAX_LAG_S * SAMPLE_RATE)
    n = max(0, (len(own) - block) // hop + 1)
    x = own.astype(np.float64)
    y = np.concatenate([np.zeros(lag), other.astype(np.float64), np.zeros(max(0, len(own) - len(other)))])
    size = 1 << int(np.ceil(np.log2(2 * block + lag)))
    mask = np.zeros(n, dtype=bool)
    for first in range(0, n, _CHUNK):
        starts = np.arange(first, min(n, first + _CHUNK)) * hop
        xb = x[starts[:, None] + np.arange(block)]
        yb = y[starts[:, None] + np.arange(block + lag)]  # yb[:, k:k+block] is `other` delayed by lag-k
        products = np.fft.irfft(np.conj(np.fft.rfft(xb, size)) * np.fft.rfft(yb, size), size)[:, :lag]
        squares = np.concatenate([np.zeros((len(yb), 1)), np.cumsum(yb * yb, axis=1)], axis=1)
        shifted = squares[:, block : block + lag] - squares[:, :lag]
        energy_x = np.sum(xb * xb, axis=1)
        explained = products**2 / (np.maximum(energy_x, 1e-20)[:, None] * np.maximum(shifted, 1e-20))
        louder = _db(shifted[:, 0]) - _db(energy_x) > LOUDER_DB  # `other` over the same samples
        mask[first : first + len(starts)] = louder & (explained.max(axis=1) >= LEAK_SHARE) & (energy_x > 0)
    return mask


def _db(energy: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(energy, 1e-20))


def suppress_crosstalk(own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, float]:
    """`own` with the stretches that only carry the other microphone's speaker muted, and the
    seconds muted. Both tracks on the same clock, 16 kHz."""
    mask = leak_mask(own, other)
    if not mask.any():
        return own, 0.0
    hop = round(BLOCK_S * SAMPLE_RATE) // 2
    gain = np.ones(len(own), dtype=np.float32)
    for i in np.flatnonzero(mask):
        gain[i * hop + hop // 2 : i * hop + hop // 2 + hop] = 0.0  # the block's middle half
    ramp = round(RAMP_S * SAMPLE_RATE)
    smooth = np.convolve(gain, np.ones(ramp, dtype=np.float32) / ramp, mode="same")
    return (own * smooth).astype(np.float32), float(np.sum(smooth < 0.5)) / SAMPLE_RATE


def duplicated_words(segments: Sequence[Segment], tolerance_s: float = 0.5) -> int:
    """Words heard twice: pairs of words with the same spelling (case and punctuation aside) on two
    speakers' segments within `tolerance_s` of each other. The measure of cross-talk left."""
    by_text: dict[str, list[tuple[float, float, str]]] = {}
    for segment in segments:
        for w in segment.words:
            by_text.setdefault(_plain(w["w"]), []).append((w["t0"], w["t1"], segment.speaker))
    pairs = 0
    for timed in by_text.values():
        for i, (t0, t1, speaker) in enumerate(timed):
            pairs += any(
                other != speaker and o0 - tolerance_s <= t1 and t0 <= o1 + tolerance_s
                for o0, o1, other in timed[i + 1 :]
            )
    return pairs


def _plain(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())
