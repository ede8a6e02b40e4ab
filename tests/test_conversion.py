"""CTranslate2 weights -> openai-whisper checkpoint: layout, exactness per dtype, the same words as faster-whisper."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from conftest import needs_openai_whisper, words_of
from encounter_feedback.cli.main import main
from encounter_feedback.media.audio import decode_file, to_mono
from encounter_feedback.media.tts import synthesize
from encounter_feedback.speech import models
from encounter_feedback.speech.asr import transcribe_clips
from encounter_feedback.speech.conversion import convert, dimensions, read_model_bin, state_dict, weight
from encounter_feedback.speech.models import ModelError, resolve_model_dir

TINY_EN = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}
"""openai-whisper's published dimensions of tiny.en."""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return read_model_bin(resolve_model_dir(None, tmp_path_factory.mktemp("unused")) / "model.bin")


def test_the_bundled_model_is_float16_with_openai_whispers_dimensions(tiny):
    assert tiny.dtype == "float16"
    assert dimensions(tiny) == TINY_EN


def test_fused_projections_split_into_whispers_layout_bit_for_bit(tiny):
    weights = state_dict(tiny)
    fused = tiny.variables["encoder/layer_2/self_attention/linear_0/weight"]
    for i, part in enumerate(("query", "key", "value")):
        assert np.array_equal(weights[f"encoder.blocks.2.attn.{part}.weight"], fused[384 * i : 384 * (i + 1)])
    assert "encoder.blocks.2.attn.key.bias" not in weights  # Whisper's keys have none ...
    assert not tiny.variables["encoder/layer_2/self_attention/linear_0/bias"][384:768].any()  # ... and it is zero
    cross = tiny.variables["decoder/layer_1/attention/linear_1/weight"]
    assert np.array_equal(weights["decoder.blocks.1.cross_attn.key.weight"], cross[:384])
    assert np.array_equal(weights["decoder.blocks.1.cross_attn.value.weight"], cross[384:])
    assert np.array_equal(
        weights["decoder.blocks.3.cross_attn_ln.weight"], weight(tiny, "decoder/layer_3/attention/layer_norm/gamma")
    )
    assert all(value.dtype == np.float16 for value in weights.values())


def test_the_state_dict_is_exactly_what_openai_whisper_expects(tiny):
    needs_openai_whisper()
    from whisper.model import ModelDimensions, Whisper

    expected = Whisper(ModelDimensions(**dimensions(tiny))).state_dict()
    converted = state_dict(tiny)
    assert sorted(converted) == sorted(expected)
    assert {name: tuple(value.shape) for name, value in converted.items()} == {
        name: tuple(value.shape) for name, value in expected.items()
    }
    # The encoder's positional encodings are Whisper's fixed sinusoids.
    sinusoids = expected["encoder.positional_embedding"].numpy()
    assert np.allclose(converted["encoder.positional_embedding"].astype(np.float32), sinusoids, atol=1e-3)


def _write_model_bin(path, variables):
    """A CTranslate2 format-6 model file (what ctranslate2's converter writes) holding `variables`."""
    type_ids = {"float32": 0, "int8": 1, "int16": 2, "float16": 4, "bfloat16": 5}

    def string(text):
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, (dtype, value) in variables.items():
        raw = value.tobytes()
        out += string(name) + struct.pack("<B", value.ndim) + struct.pack(f"<{value.ndim}I", *value.shape)
        out += struct.pack("<BI", type_ids[dtype], len(raw)) + raw
    path.write_bytes(out + struct.pack("<I", 0))


def test_int8_is_dequantized_within_half_a_step_and_bfloat16_widens_exactly(tmp_path):
    rng = np.random.default_rng(3)
    original = rng.standard_normal((6, 8)).astype(np.float32)
    scale = 127 / np.abs(original).max(axis=1)  # CTranslate2's per-row int8 quantization
    quantized = np.round(original * scale[:, None]).astype(np.int8)
    bfloat16 = (original.view(np.uint32) >> 16).astype(np.uint16)
    _write_model_bin(
        tmp_path / "model.bin",
        {
            "q/weight": ("int8", quantized),
            "q/weight_scale": ("float32", scale.astype(np.float32)),
            "b/weight": ("bfloat16", bfloat16),
            "h/weight": ("float16", original.astype(np.float16)),
        },
    )
    model = read_model_bin(tmp_path / "model.bin")
    assert np.all(np.abs(weight(model, "q/weight") - original) <= 0.5 / scale[:, None] + 1e-7)
    assert np.array_equal(weight(model, "b/weight"), (bfloat16.astype(np.uint32) << 16).view(np.float32))
    assert np.array_equal(weight(model, "h/weight"), original.astype(np.float16))


def test_a_foreign_or_truncated_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 5))
    with pytest.raises(ModelError, match="format 5, only format 6"):
        read_model_bin(tmp_path / "model.bin")
    (tmp_path / "model.bin").write_bytes(struct.pack("<I", 6) + b"\x05")
    with pytest.raises(ModelError, match="truncated"):
        read_model_bin(tmp_path / "model.bin")


def test_the_checkpoint_is_cached_by_content(tmp_path):
    needs_openai_whisper()
    model_dir = resolve_model_dir(None, tmp_path)
    path = convert(model_dir, tmp_path / "cache")
    assert path.parent == tmp_path / "cache" / "openai-whisper" and path.name.startswith("tiny.en-")
    stamp = path.stat().st_mtime_ns
    assert convert(model_dir, tmp_path / "cache") == path and path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # nothing partial left behind


def _same_words(faster, openai, audio):
    heard = [words_of(" ".join(w.w for w in transcribe_clips(e, [audio])[0].words)) for e in (faster, openai)]
    assert heard[0] == heard[1]
    return heard[0]


@pytest.mark.slow  # decodes with openai-whisper (PyTorch on the CPU)
def test_converted_model_hears_jfk_word_for_word_as_faster_whisper(engine, openai_engine, shared_data):
    audio = to_mono(decode_file(shared_data / "speech" / "jfk.flac").channels)
    heard = _same_words(engine, openai_engine, audio)
    assert heard == words_of((shared_data / "speech" / "jfk.txt").read_text())


@pytest.mark.slow  # decodes with openai-whisper (PyTorch on the CPU)
def test_converted_model_hears_generated_speech_as_faster_whisper(engine, openai_engine):
    audio = synthesize("My chest has hurt since Tuesday, mostly when I climb the stairs to my apartment.")
    assert _same_words(engine, openai_engine, audio) == words_of(
        "My chest has hurt since Tuesday, mostly when I climb the stairs to my apartment."
    )


@pytest.mark.slow  # decodes with openai-whisper (PyTorch on the CPU)
def test_models_convert_writes_the_checkpoint_and_checks_it(tmp_path, capsys):
    needs_openai_whisper()
    assert main(["models", "convert", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "openai-whisper:tiny.en" in out and "from float16 weights: exact" in out
    assert "the same words as faster-whisper" in out
    assert len(list((tmp_path / "models" / "openai-whisper").glob("tiny.en-*.pt"))) == 1


def test_choosing_openai_whisper_without_its_extra_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "whisper", None)  # as if the extra were not installed
    code = main(["analyze", "--engine", "openai-whisper", "--out", str(tmp_path), "--data", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == (
        "encounter: error: the openai-whisper engine is not installed: pip install 'encounter-feedback[openai-whisper]'"
    )


def test_base_is_joined_from_its_two_packages_once(tmp_path):
    if not models.base_installed():
        pytest.skip("the base model is not installed: pip install -e '.[base]'")
    model_dir = resolve_model_dir("base", tmp_path)
    assert model_dir == tmp_path / "base"
    assert hashlib.sha256((model_dir / "model.bin").read_bytes()).hexdigest() == models.BASE_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]
    stamp = (model_dir / "model.bin").stat().st_mtime_ns
    assert resolve_model_dir("base", tmp_path) == model_dir and (model_dir / "model.bin").stat().st_mtime_ns == stamp
    assert dimensions(read_model_bin(model_dir / "model.bin"))["n_audio_state"] == 512


def test_base_without_its_packages_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "BASE_PARTS", ("no_such_package_part1", "no_such_package_part2"))
    with pytest.raises(ModelError, match=r"pip install 'encounter-feedback\[base\]'.*never downloaded"):
        resolve_model_dir("base", tmp_path)
