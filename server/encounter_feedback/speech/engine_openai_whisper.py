"""The openai-whisper engine: OpenAI's own PyTorch Whisper, on weights converted from the bundled model.

openai-whisper is the reference implementation; on a GPU (CUDA torch) it is a fast engine, on
the CPU about 10x slower than faster-whisper (`encounter bench wer`). It loads PyTorch
checkpoints that it normally downloads; here the checkpoint is made from the CTranslate2
model that faster-whisper runs (speech/conversion.py) and cached in the data directory, so
nothing is downloaded. It needs the optional extra `encounter-feedback[openai-whisper]`
(openai-whisper and torch); without it, choosing this engine is a one-line error.

Same contract as speech/engine_faster_whisper.py: each window of at most 30 s is decoded
once, without timestamp tokens, beam search as `AsrConfig` says, never conditioned on earlier
text, and words are timed by cross-attention alignment (the model's `alignment_heads` from its
config.json). Audio goes in as 16 kHz float32 arrays, so no ffmpeg binary is needed.
openai-whisper's encoder always sees 30 s: `AsrConfig.min_context_s` does not apply.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from encounter_feedback.events import Word
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import AsrConfig, AsrSegment, passes_gates
from encounter_feedback.speech.conversion import convert
from encounter_feedback.speech.models import ModelError, model_label

EXTRA = "pip install 'encounter-feedback[openai-whisper]'"


class OpenAIWhisperEngine:
    """Whisper through openai-whisper (PyTorch, float32 on the CPU)."""

    WINDOW_S = 30.0

    def __init__(self, checkpoint: Path, label: str, config: AsrConfig = AsrConfig()) -> None:
        torch, whisper = require_openai_whisper()
        self.config = config
        self.name = f"openai-whisper:{label}"
        torch.set_num_threads(config.cpu_threads)
        try:
            saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
            model = whisper.model.Whisper(whisper.model.ModelDimensions(**saved["dims"]))
            model.load_state_dict(saved["model_state_dict"])
        except Exception as exc:  # a damaged or foreign file: say which
            raise ModelError(f"cannot load the openai-whisper checkpoint {checkpoint}: {exc}") from exc
        if saved.get("alignment_heads"):
            heads = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
            for layer, head in saved["alignment_heads"]:
                heads[layer, head] = True
            model.register_buffer("alignment_heads", heads.to_sparse(), persistent=False)
        self.model = model.eval()
        self.checkpoint = checkpoint
        self.source_dtype: str = saved.get("source_dtype", "")
        """The dtype of the CTranslate2 weights it was converted from (speech/conversion.py: exact or not)."""
        self._tokenizer = whisper.tokenizer.get_tokenizer(
            model.is_multilingual, num_languages=model.num_languages, language=config.language, task="transcribe"
        )

    @classmethod
    def from_model_dir(cls, model_dir: Path, cache: Path, config: AsrConfig = AsrConfig()) -> OpenAIWhisperEngine:
        """The engine for a CTranslate2 model directory, converting it into `cache` on first use."""
        require_openai_whisper()
        return cls(convert(model_dir, cache), model_label(model_dir), config)

    def with_config(self, config: AsrConfig) -> OpenAIWhisperEngine:
        """The same loaded model decoding with other options."""
        engine = copy.copy(self)
        engine.config = config
        return engine

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> list[AsrSegment]:
        """Decode `audio` with word timestamps; only segments passing the gates are returned."""
        torch, whisper = require_openai_whisper()
        out = []
        for start in np.arange(0.0, len(audio) / SAMPLE_RATE, self.WINDOW_S):
            clip = audio[round(start * SAMPLE_RATE) : round((start + self.WINDOW_S) * SAMPLE_RATE)]
            mel = whisper.log_mel_spectrogram(
                torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)),
                self.model.dims.n_mels,
                padding=whisper.audio.N_SAMPLES,
            )
            frames = len(clip) // whisper.audio.HOP_LENGTH
            mel = whisper.pad_or_trim(mel, whisper.audio.N_FRAMES)
            with torch.no_grad():
                result = whisper.decode(self.model, mel, self._options(prompt))
            segment = {"seek": 0, "start": 0.0, "end": len(clip) / SAMPLE_RATE, "tokens": result.tokens}
            whisper.timing.add_word_timestamps(
                segments=[segment],
                model=_Encoded(self.model, result.audio_features),
                tokenizer=self._tokenizer,
                mel=mel,
                num_frames=frames,
                last_speech_timestamp=0.0,
            )
            words = tuple(
                Word(w["word"].strip(), start + w["start"], start + w["end"], w["probability"])
                for w in segment.get("words", ())
                if w["word"].strip()
            )
            decoded = AsrSegment(words, result.avg_logprob, result.no_speech_prob)
            if passes_gates(decoded, self.config):
                out.append(decoded)
        return out

    def _options(self, prompt: str | None) -> Any:
        """openai-whisper's options for one decode: no timestamp tokens, float32, no conditioning."""
        from whisper.decoding import DecodingOptions

        cfg = self.config
        return DecodingOptions(
            task="transcribe",
            language=cfg.language,
            temperature=cfg.temperatures[0],
            beam_size=cfg.beam_size if cfg.beam_size > 1 else None,
            prompt=prompt or None,
            suppress_tokens="-1",
            suppress_blank=True,
            without_timestamps=True,
            fp16=False,
        )


class _Encoded:
    """The model with one window's audio already encoded, for openai-whisper's word alignment.

    `find_alignment` runs the whole model (`model(mel, tokens)`), encoder included, to read the
    cross-attention of the decoded text; the decode has just encoded that same window. This
    runs the decoder only, on the encoder output the decode returned: the same attention, one
    encoder pass less per window.
    """

    def __init__(self, model: Any, audio_features: Any) -> None:
        self._model, self._features = model, audio_features

    def __call__(self, mel: Any, tokens: Any) -> Any:
        return self._model.decoder(tokens, self._features.unsqueeze(0))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def require_openai_whisper() -> tuple[Any, Any]:
    """torch and whisper, or the one-line error that names the extra."""
    try:
        import torch
        import whisper
        import whisper.timing
    except ImportError as exc:
        raise ModelError(f"the openai-whisper engine is not installed: {EXTRA}") from exc
    return torch, whisper
