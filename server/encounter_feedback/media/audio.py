"""Audio decoding and resampling: everything becomes 16 kHz mono float32.

PyAV (FFmpeg) decodes every container we care about (wav, flac, mp3, m4a, ogg/opus, webm),
so there is one decoder for files and, in the live server, for WebRTC frames. Resampling is
*stateful* (`Resampler`): a live track arrives as a stream of 20 ms frames, and resampling
each frame on its own would click at every boundary.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from encounter_feedback.errors import UserError

SAMPLE_RATE = 16_000
"""The pipeline's one sample rate (Hz): what Silero VAD and Whisper expect."""


class AudioError(UserError):
    """A file that cannot be turned into audio; the message says what to do about it."""


class Resampler:
    """Stateful resampler from any PyAV audio frame to 16 kHz float32, channels kept.

    Keeps FFmpeg's filter state between frames so a stream resampled frame by frame is
    identical to the same audio resampled in one piece.
    """

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.rate = rate
        self._started: tuple[av.AudioResampler, int] | None = None
        """The resampler and the channel count, set up for the first frame's layout."""

    def push(self, frame: av.AudioFrame | None) -> np.ndarray:
        """Resample one frame (None flushes); returns float32 of shape (channels, samples)."""
        if frame is not None and self._started is None:
            layout = frame.layout
            self._started = (av.AudioResampler(format="fltp", layout=layout.name, rate=self.rate), len(layout.channels))
        if self._started is None:
            return np.zeros((1, 0), dtype=np.float32)
        resampler, channels = self._started
        out = [f.to_ndarray() for f in resampler.resample(frame)]
        if not out:
            return np.zeros((channels, 0), dtype=np.float32)
        return np.concatenate(out, axis=1).astype(np.float32, copy=False)


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample mono float32 audio from `rate` Hz to 16 kHz."""
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = Resampler()
    return np.concatenate([resampler.push(frame), resampler.push(None)], axis=1)[0]


def to_mono(channels: np.ndarray) -> np.ndarray:
    """Average a (channels, samples) array to one channel: a room mix of all microphones."""
    return channels.mean(axis=0) if channels.shape[0] > 1 else channels[0]


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded file: float32 samples at 16 kHz, shape (channels, samples)."""

    path: Path
    channels: np.ndarray

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.channels.shape[1] / SAMPLE_RATE


def decode_file(path: str | Path) -> DecodedAudio:
    """Decode a whole file to 16 kHz float32, keeping its channels.

    Raises AudioError, with the file name and a hint, when the file is missing, is not audio,
    holds no samples, or is cut short (fewer samples than its header declares).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc.strerror or exc})") from exc
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: the file has no audio stream")
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        resampler = Resampler()
        pieces: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                pieces.append(resampler.push(frame))
        except av.error.FFmpegError as exc:
            decoded = sum(p.shape[1] for p in pieces) / SAMPLE_RATE
            raise AudioError(
                f"{path}: corrupt or truncated after {decoded:.1f} s ({exc.strerror or exc}); "
                "re-export or re-copy the recording"
            ) from exc
        pieces.append(resampler.push(None))
    pieces = [p for p in pieces if p.shape[1]]
    if not pieces:
        raise AudioError(f"{path}: the file contains no audio samples")
    audio = DecodedAudio(path, np.concatenate(pieces, axis=1))
    if declared is not None and audio.duration < declared - 0.5:
        raise AudioError(
            f"{path}: truncated: the header declares {declared:.1f} s but only "
            f"{audio.duration:.1f} s could be decoded; re-export or re-copy the recording"
        )
    return audio


def _declared_duration(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    """The duration the file's header promises, in seconds, if it states one.

    FFmpeg derives a WAV file's duration from its size, which hides truncation, so for WAV
    the RIFF header's own data size is read instead.
    """
    if container.format.name == "wav":
        return _riff_declared_duration(Path(container.name))
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _riff_declared_duration(path: Path) -> float | None:
    """Seconds promised by a RIFF/WAVE header: data chunk size over bytes per second."""
    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None
        byte_rate = None
        while len(chunk := f.read(8)) == 8:
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt ":
                fmt = f.read(size + size % 2)
                byte_rate = int.from_bytes(fmt[8:12], "little")
            elif kind == b"data":
                return size / byte_rate if byte_rate and size < 0xFFFFFFFF else None
            else:
                f.seek(size + size % 2, 1)
    return None


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write float32 samples, mono (samples,) or (channels, samples), as 16-bit PCM WAV."""
    channels = samples.reshape(1, -1) if samples.ndim == 1 else samples
    pcm = (np.clip(channels.T, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
