"""The faster-whisper engine: Whisper on CTranslate2, int8 on the CPU (see speech/asr.py for the interface)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np

from encounter_feedback.events import Word
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import AsrConfig, AsrSegment, passes_gates
from encounter_feedback.speech.models import ModelError, model_label


class FasterWhisperEngine:
    """Whisper through faster-whisper (CTranslate2), int8 on the CPU.

    Each window of at most 30 s is encoded and decoded exactly once through the forward pass of
    faster-whisper's `BatchedInferencePipeline`, without timestamp tokens, and words are timed
    by cross-attention alignment. The sequential `WhisperModel.transcribe` re-decodes the tail
    after the last word of every window (a second full encoder pass); on the osce-dev
    consultations the single pass is both faster and about 2 WER points better (`encounter
    bench wer`).

    Calling the forward pass ourselves lets the encoder see less than 30 s
    (`AsrConfig.min_context_s`): the live server's decodes of one short utterance take half
    the time with 20 s.
    """

    WINDOW_S = 30.0

    def __init__(self, model_dir: Path, config: AsrConfig = AsrConfig()) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self.config = config
        self.model_dir = model_dir
        self.name = f"faster-whisper:{model_label(model_dir)}"
        try:
            self.model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=config.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # CTranslate2 raises plain RuntimeErrors
            raise ModelError(f"cannot load the Whisper model in {model_dir}: {exc}") from exc
        self._pipeline = BatchedInferencePipeline(self.model)
        multilingual = self.model.model.is_multilingual
        self._tokenizer = Tokenizer(
            self.model.hf_tokenizer, multilingual, task="transcribe", language=config.language if multilingual else "en"
        )

    def with_config(self, config: AsrConfig) -> FasterWhisperEngine:
        """The same loaded model decoding with other options (the live server's partials)."""
        engine = copy.copy(self)
        engine.config = config
        return engine

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> list[AsrSegment]:
        """Decode `audio` with word timestamps; only segments passing the gates are returned."""
        from faster_whisper.audio import pad_or_trim

        options = self._options(prompt)
        out = []
        for start in np.arange(0.0, len(audio) / SAMPLE_RATE, self.WINDOW_S):
            clip = audio[round(start * SAMPLE_RATE) : round((start + self.WINDOW_S) * SAMPLE_RATE)]
            features = self.model.feature_extractor(clip)[..., :-1]
            frames = min(3000, max(round(self.config.min_context_s * 100), features.shape[-1] + 100))
            [segments] = self._pipeline.forward(
                pad_or_trim(features, frames)[None],
                self._tokenizer,
                [{"offset": float(start), "duration": len(clip) / SAMPLE_RATE}],
                options,
            )
            for seg in segments:
                result = AsrSegment(
                    words=tuple(
                        Word(w["word"].strip(), w["start"], w["end"], w["probability"])
                        for w in seg.get("words", ())
                        if w["word"].strip()
                    ),
                    avg_logprob=seg["avg_logprob"],
                    no_speech_prob=seg["no_speech_prob"],
                )
                if passes_gates(result, self.config):
                    out.append(result)
        return out

    def _options(self, prompt: str | None) -> Any:
        """faster-whisper's options for one decode: no timestamp tokens, words aligned, no conditioning."""
        from faster_whisper.transcribe import TranscriptionOptions

        cfg = self.config
        return TranscriptionOptions(
            beam_size=cfg.beam_size,
            best_of=1,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=cfg.log_prob_threshold,
            no_speech_threshold=cfg.no_speech_threshold,
            compression_ratio_threshold=cfg.compression_ratio_threshold,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=list(cfg.temperatures),
            initial_prompt=prompt or None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=self._suppressed_tokens,
            without_timestamps=True,
            max_initial_timestamp=0.0,
            word_timestamps=True,
            prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、",
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    @functools.cached_property
    def _suppressed_tokens(self) -> list[int]:
        from faster_whisper.transcribe import get_suppressed_tokens

        return get_suppressed_tokens(self._tokenizer, [-1])
