"""Decoding every supported container, stateful resampling, and clear errors for bad files."""

from __future__ import annotations

import av
import numpy as np
import pytest

from conftest import tone
from encounter_feedback.media.audio import SAMPLE_RATE, AudioError, Resampler, decode_file, resample, to_mono, write_wav


def _encode(path, samples: np.ndarray, rate: int, codec: str) -> None:
    """Write mono float audio with PyAV's encoder for `codec`."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
        for i in range(0, len(samples), frame_size):
            frame = av.AudioFrame.from_ndarray(samples[i : i + frame_size].reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = i
            for resampled in resampler.resample(frame):
                container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))


def _dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


@pytest.mark.parametrize(
    "suffix,codec,rate",
    [
        ("wav", "pcm_s16le", 44100),
        ("flac", "flac", 22050),
        ("mp3", "libmp3lame", 44100),
        ("ogg", "libopus", 48000),
        ("webm", "libopus", 48000),
        ("m4a", "aac", 48000),
    ],
)
def test_every_container_decodes_to_16k_mono(tmp_path, suffix, codec, rate):
    path = tmp_path / f"tone.{suffix}"
    _encode(path, tone(440, 2.0, rate), rate, codec)
    audio = decode_file(path)
    assert audio.channels.dtype == np.float32 and audio.channels.shape[0] == 1
    assert abs(audio.duration - 2.0) < 0.08
    assert abs(_dominant_hz(audio.channels[0]) - 440) < 2


def test_streamed_resampling_equals_one_shot():
    """48 kHz stereo in 20 ms WebRTC-sized frames resamples exactly like the whole signal."""
    signal = np.stack([tone(300, 1.0, 48000), tone(500, 1.0, 48000)])

    def frame(chunk: np.ndarray) -> av.AudioFrame:
        f = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
        f.sample_rate = 48000
        return f

    streamed = Resampler()
    pieces = [streamed.push(frame(signal[:, i : i + 960])) for i in range(0, signal.shape[1], 960)]
    pieces.append(streamed.push(None))
    whole = Resampler()
    one_shot = np.concatenate([whole.push(frame(signal)), whole.push(None)], axis=1)
    joined = np.concatenate(pieces, axis=1)
    assert joined.shape == one_shot.shape == (2, SAMPLE_RATE)
    np.testing.assert_allclose(joined, one_shot, atol=1e-6)


def test_resample_and_mono_mix():
    out = resample(tone(200, 1.0, 22050), 22050)
    assert abs(len(out) - SAMPLE_RATE) <= 2 and abs(_dominant_hz(out) - 200) < 2
    mixed = to_mono(np.stack([np.ones(4, np.float32), np.zeros(4, np.float32)]))
    assert mixed.tolist() == [0.5] * 4


def test_stereo_wav_round_trip_keeps_channels(tmp_path):
    path = tmp_path / "st.wav"
    write_wav(path, np.stack([tone(300, 0.5), tone(700, 0.5)]))
    audio = decode_file(path)
    assert audio.channels.shape == (2, SAMPLE_RATE // 2)
    assert abs(_dominant_hz(audio.channels[0]) - 300) < 3 and abs(_dominant_hz(audio.channels[1]) - 700) < 3


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        decode_file(tmp_path / "nope.wav")
    text = tmp_path / "notes.wav"
    text.write_text("these are faculty notes, not audio\n" * 20)
    with pytest.raises(AudioError, match="not a readable audio file"):
        decode_file(text)
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="contains no audio samples"):
        decode_file(empty)


def test_truncated_file_is_reported_with_what_was_decodable(tmp_path):
    path = tmp_path / "cut.wav"
    write_wav(path, tone(440, 10.0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 4])  # header still promises 10 s
    with pytest.raises(AudioError, match=r"truncated: the header declares 10.0 s but only 2.5 s"):
        decode_file(path)
