"""Voice embeddings: Resemblyzer's speaker encoder (GE2E, a 3-layer LSTM) run with NumPy.

    16 kHz audio -> 40-band mel power spectrogram (25 ms windows, 10 ms hop)
      -> windows of mel frames -> LSTM x3 (256 units) -> linear + ReLU -> L2-normed 256-d vector

Two stretches of speech by the same voice give embeddings with a high cosine similarity;
speech/diarization.py clusters them to tell the speakers of one room microphone apart.

The weights are Resemblyzer's (Apache-2.0; models/voice_encoder.npz, converted once by
training/voice_weights.py), so neither Resemblyzer nor PyTorch is needed at run time. The
forward pass is the same arithmetic as `torch.nn.LSTM` (gate order input, forget, cell,
output); tests/test_speakers.py checks it against PyTorch where PyTorch is installed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.resources import bundled_dir

HOP = 160
"""Samples per mel frame (10 ms)."""
N_FFT = 400
"""Samples per analysis window (25 ms)."""
N_MELS = 40
LAYERS = 3
HIDDEN = 256
TRAINED_FRAMES = 160
"""Frames per partial utterance the encoder was trained on (1.6 s)."""
TARGET_DBFS = -30.0
"""Resemblyzer normalizes speech to this level before embedding (raising quieter audio only)."""


def weights_path() -> Path:
    return bundled_dir("models") / "voice_encoder.npz"


class VoiceEncoder:
    """The encoder's weights, laid out for a batched forward pass."""

    def __init__(self, path: Path | None = None) -> None:
        weights = np.load(path or weights_path())
        # sigmoid(x) = (1 + tanh(x / 2)) / 2: halving the input, forget and output gates' rows
        # lets one tanh over all four gates serve every nonlinearity of a step.
        scale = np.full((4 * HIDDEN, 1), 0.5, dtype=np.float32)
        scale[2 * HIDDEN : 3 * HIDDEN] = 1.0
        self._layers = [
            (
                np.ascontiguousarray((weights[f"lstm.weight_ih_l{k}"] * scale).T),
                np.ascontiguousarray((weights[f"lstm.weight_hh_l{k}"] * scale).T),
                ((weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"]) * scale[:, 0]).astype(np.float32),
            )
            for k in range(LAYERS)
        ]
        self._linear_w = np.ascontiguousarray(weights["linear.weight"].T)
        self._linear_b = weights["linear.bias"].astype(np.float32)

    def embed(self, mels: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """L2-normed embeddings, (batch, 256), of mel windows shaped (batch, frames, 40).

        `lengths`: frames of each window that are real (default: all); a shorter one is embedded
        from the LSTM's state at its own last frame, as if it had been run alone (the LSTM only
        looks back, so the padding after it changes nothing), never from zero padding.
        """
        batch, frames, _ = mels.shape
        last = np.full(batch, frames - 1) if lengths is None else np.asarray(lengths) - 1
        x = np.ascontiguousarray(mels.transpose(1, 0, 2), dtype=np.float32)  # (frames, batch, features)
        for w_ih, w_hh, bias in self._layers:
            projected = (x.reshape(frames * batch, -1) @ w_ih + bias).reshape(frames, batch, 4 * HIDDEN)
            outputs = np.empty((frames, batch, HIDDEN), dtype=np.float32)
            h = np.zeros((batch, HIDDEN), dtype=np.float32)
            c = np.zeros((batch, HIDDEN), dtype=np.float32)
            for t in range(frames):
                gates = np.tanh(projected[t] + h @ w_hh)
                sig_i, sig_f, sig_o = (0.5 * (1.0 + gates[:, k * HIDDEN : (k + 1) * HIDDEN]) for k in (0, 1, 3))
                c = sig_f * c + sig_i * gates[:, 2 * HIDDEN : 3 * HIDDEN]
                h = sig_o * np.tanh(c)
                outputs[t] = h
            x = outputs
        final = x[last, np.arange(batch)]
        raw = np.maximum(final @ self._linear_w + self._linear_b, 0.0)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


@lru_cache(maxsize=1)
def shared_encoder() -> VoiceEncoder:
    """One loaded encoder per process (the weights are read-only)."""
    return VoiceEncoder()


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """The encoder's input: mel power spectrogram of 16 kHz audio, (frames, 40), frame i centred
    on sample i * HOP (Resemblyzer's `wav_to_mel_spectrogram`)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(audio, dtype=np.float32), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS
    )
    return mel.astype(np.float32).T


def level_gain(speech: np.ndarray) -> float:
    """The gain that brings `speech` to TARGET_DBFS, never below 1 (Resemblyzer's normalization)."""
    rms = float(np.sqrt(np.mean(np.square(speech, dtype=np.float64)))) if len(speech) else 0.0
    if rms <= 0.0:
        return 1.0
    return max(1.0, 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20))
