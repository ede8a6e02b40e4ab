"""A second reading of race-themed patient turns: logistic regression on the stock sentence embedding.

Why: the race-themed head is fine-tuned on the corpus, and it reads a challenge told in words
unlike the corpus's with little confidence. On 55 lines written later in new words (now in the
dev split), it flagged 16 of 30 implicit challenges ("I've got a master's degree, and the nurse
still explained it to me like I was five": P(moment) 0.17). A linear reading of the embedding
the stock MiniLM sentence encoder gives (`models/sentences.onnx`, never fine-tuned, already run
for the scripted cue lines) keeps more of what the pretrained model knows about such stories
and read most of them as moments, with no more false flags there. Neither is better alone; their
average, with the weight chosen on dev (`Settings.sentence_weight`, `training/calibrate.py`), is
what a race-themed case reads. The general case is untouched: there a turn must refer to race.

`encounter train` fits it (`training/sentence_moments.py`) on the race-themed examples the
moment encoder learns and stores it as `models/sentence_moments.npz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "sentence_moments.npz"


@dataclass(frozen=True)
class SentenceMoments:
    """P(moment) in a race-themed case = sigmoid(embedding @ coef + intercept)."""

    coef: np.ndarray
    intercept: float

    def probability(self, embeddings: np.ndarray) -> np.ndarray:
        """P(moment) per row of `embeddings` (n, dim)."""
        return 1.0 / (1.0 + np.exp(-(embeddings @ self.coef + self.intercept)))

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef.astype(np.float32), intercept=np.float32(self.intercept))

    @classmethod
    def load(cls, path: Path) -> SentenceMoments:
        with np.load(path) as stored:
            return cls(stored["coef"].astype(np.float32), float(stored["intercept"]))


def blend(probs: np.ndarray, p_sentence: np.ndarray, weight: float) -> np.ndarray:
    """P(class) per turn (columns: none, then the moment labels) with P(moment) = `weight` x the
    encoder's + (1 - `weight`) x the sentence reading's. The labels keep the encoder's proportions:
    the sentence reading says whether a turn is a moment, not which kind."""
    p_encoder = 1.0 - probs[:, 0]
    p_moment = weight * p_encoder + (1.0 - weight) * p_sentence
    kinds = probs[:, 1:] / np.maximum(p_encoder, 1e-12)[:, None]
    return np.column_stack([1.0 - p_moment, kinds * p_moment[:, None]])
