"""`encounter train`: build the classifier in `models/` from the corpus, deterministically.

    corpus train split (+ a seeded sample of MTS-Dialog training turns as negatives)
      -> fine-tune all-MiniLM-L6-v2's top layers and three heads (training/finetune.py, PyTorch),
         twice (`ENCODERS`): patient turns are read by one, provider turns by the other; the one
         that reads patient turns also learns the turns the replies answer as moments
      -> export to ONNX, weights quantized to 8 bits (models/classifier.onnx, models/replies.onnx;
         the stock model as models/sentences.onnx for scripted cue lines; models/tokenizer.json)
      -> settings chosen on the dev split (training/calibrate.py) -> models/classifier.json
      -> reported: dev, held-out test, the sets written outside the project (models/eval/),
         false alarms on clinical dialogue the model did not train on

`encounter train --compare` trains the previous model family (TF-IDF and logistic regression,
training/baseline.py) on the same examples, chooses its settings the same way, and prints both
side by side; the encoder ships because it reads replies as pairs and generalizes to text
written outside the project (the model card has the figures).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from encounter_feedback.analysis.classifier import (
    HEADS,
    MODELS_DIR,
    Classifier,
    EncoderModel,
    SentenceEmbeddings,
    TurnModel,
)
from encounter_feedback.analysis.sentence_moments import FILE as SENTENCE_MOMENTS_FILE
from encounter_feedback.analysis.sentence_moments import SentenceMoments
from encounter_feedback.errors import UserError
from encounter_feedback.training.calibrate import DevData, choose_settings
from encounter_feedback.training.corpus import corpus_hash, external_sets, load_split
from encounter_feedback.training.evaluate import Turn, assess, clinical_files, dialogue_turns
from encounter_feedback.training.examples import (
    Example,
    examples_hash,
    from_items,
    from_reply_contexts,
    from_turns,
    sample_negatives,
    thin_negatives,
)
from encounter_feedback.training.sentence_moments import fit_sentence_moments

SEED = 0
ENCODERS = {"classifier.onnx": 2, "replies.onnx": 4}
"""Each fine-tuned file and how many of its top layers are trained. Reading a reply with its
context needs more of the encoder than spotting a moment: with four layers trained, replies
written outside the project were read far better (human-coded examples 0.73 against 0.62), but
the moment heads grew overconfident on ordinary clinical talk (dev general-case F1 0.66 against
0.86). So both are trained on the same examples (the moment encoder on the replies' contexts
too, `MOMENT_ENCODER`), and each file serves the heads it reads best (analysis/classifier.py's
`EncoderModel`)."""
MOMENT_ENCODER = "classifier.onnx"
"""The file whose heads read patient turns: it alone also learns the replies' contexts as race-themed
moments (`Data.reply_contexts`). The reply encoder serves only the response head, which they do not teach."""
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Data:
    """Everything training and its report read."""

    examples: list[Example]
    """What both encoders learn."""
    reply_contexts: list[Example]
    """What the moment encoder learns besides (`examples.from_reply_contexts`)."""
    negatives: list[Turn]
    dev: DevData
    sets: dict[str, list]
    """dev, test and the external sets, by name."""
    dialogue: dict[str, list[Turn]]
    """Clinical dialogue the model did not train on: `mts_dev` (thresholds) and `aci` (reported)."""


class TrainError(UserError):
    """The corpus and the shipped model do not fit together; the message says what to run."""


def load_data(transcripts: Path | None, progress: Progress) -> Data:
    progress("loading the corpus and the clinical dialogue")
    train, dev, test = load_split("train"), load_split("dev"), load_split("test")
    files = clinical_files(transcripts) if transcripts is not None else {}
    negatives = sample_negatives(dialogue_turns(files["mts_train"]), SEED) if files else []
    dialogue = {name: dialogue_turns(files[name]) for name in ("mts_dev", "aci")} if files else {}
    return Data(
        thin_negatives(from_items(train) + from_turns(negatives), SEED),
        from_reply_contexts(train),
        negatives,
        DevData(dev, dialogue.get("mts_dev", [])),
        {"dev": dev, "test": test, **{f"external:{k}": v for k, v in external_sets().items()}},
        dialogue,
    )


def encoder_examples(name: str, data: Data) -> list[Example]:
    """What the encoder in file `name` is fine-tuned on."""
    return learned(data) if name == MOMENT_ENCODER else data.examples


def learned(data: Data) -> list[Example]:
    """Every example some encoder learns, each once (what `examples_sha256` records)."""
    return data.examples + data.reply_contexts


def finish(
    model: TurnModel,
    sentences: SentenceEmbeddings,
    data: Data,
    progress: Progress,
    sentence_moments: SentenceMoments | None = None,
) -> Classifier:
    """The sentence reading fitted (unless given, already fitted on `data`), settings chosen on
    dev, then every set assessed; the classifier's info holds it all."""
    if sentence_moments is None:
        sentence_moments = fit_sentence_moments(sentences, learned(data), progress)
    progress("choosing thresholds and calibration on the dev split")
    settings = choose_settings(model, sentences, sentence_moments, data.dev)
    classifier = Classifier(model, settings, sentences, sentence_moments)
    progress("assessing on dev, held-out, external sets and clinical dialogue")
    settings.info["assessment"] = assess(classifier, data.sets, data.dialogue)
    return classifier


def trained_info(out_dir: Path) -> dict[str, Any]:
    """What `encounter train` recorded about the encoders in `out_dir` (corpus and examples hashes,
    versions), read without the settings beside it, which may be of an older version."""
    path = out_dir / "classifier.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["info"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainError(f"no trained encoder's record in {path} ({exc}): run `encounter train`") from None


def resettle(
    out_dir: Path = MODELS_DIR, transcripts: Path | None = None, progress: Progress = lambda _: None
) -> Classifier:
    """Fit the sentence reading and choose the settings on dev again, then reassess, for the
    encoders already in `out_dir` (no fine-tuning, no PyTorch): what a change in how the model is
    run, or in the dev split, needs (not a change in what the encoders learned). Their training
    examples must be the ones they learned: the same train split, clinical negatives and lexicon
    (which decides the hard negatives kept)."""
    shipped = trained_info(out_dir)
    if shipped.get("train_sha256") != corpus_hash(splits=("train",)):
        raise TrainError("the train split changed since the encoders were trained: run `encounter train`")
    data = load_data(transcripts, progress)
    if shipped.get("examples_sha256") != examples_hash(learned(data)):
        raise TrainError(
            "the training examples differ from the ones the encoder learned (a lexicon edit in"
            " analysis/race_reference.py changes which negatives are kept; without --transcripts there are no"
            " clinical negatives): run `encounter train`, or undo the change"
        )
    classifier = finish(EncoderModel(out_dir, threads=2), SentenceEmbeddings(out_dir), data, progress)
    classifier.settings.info = {**shipped, "corpus_sha256": corpus_hash(), "assessment": classifier.info["assessment"]}
    save(classifier, out_dir)
    return classifier


def save(classifier: Classifier, out_dir: Path) -> None:
    """The settings and the sentence reading, beside the encoders."""
    assert classifier.sentence_moments is not None  # `finish` fits it
    classifier.sentence_moments.save(out_dir / SENTENCE_MOMENTS_FILE)
    classifier.settings.save(out_dir / "classifier.json")


def build(
    out_dir: Path = MODELS_DIR, transcripts: Path | None = None, progress: Progress = lambda _: None
) -> Classifier:
    """Train, export, choose settings, assess, and write the classifier into `out_dir`."""
    import numpy
    import onnxruntime
    import sklearn
    import torch

    from encounter_feedback.training.finetune import (
        FinetuneConfig,
        copy_tokenizer,
        export_onnx,
        export_sentence_encoder,
        finetune,
    )

    data = load_data(transcripts, progress)
    configs = {name: FinetuneConfig(trainable_layers=layers, seed=SEED) for name, layers in ENCODERS.items()}
    seconds = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_tokenizer(out_dir / "tokenizer.json")
    for name, config in configs.items():
        examples = encoder_examples(name, data)
        progress(f"fine-tuning {name} (top {config.trainable_layers} layers) on {len(examples)} examples")
        start = time.perf_counter()
        model = finetune(examples, config, progress)
        seconds[name] = round(time.perf_counter() - start)
        export_onnx(model, out_dir / name, tuple(HEADS))
    if not (out_dir / "sentences.onnx").is_file():
        export_sentence_encoder(out_dir / "sentences.onnx")
    classifier = finish(EncoderModel(out_dir, threads=2), SentenceEmbeddings(out_dir), data, progress)
    classifier.settings.info.update(
        {
            "model": "all-MiniLM-L6-v2 fine-tuned twice (top layers and heads), ONNX, int8 per-channel weights",
            "finetune": {name: asdict(config) for name, config in configs.items()},
            "finetune_seconds": seconds,
            "corpus_sha256": corpus_hash(),
            "train_sha256": corpus_hash(splits=("train",)),
            "examples_sha256": examples_hash(learned(data)),
            "examples": {name: len(encoder_examples(name, data)) for name in ENCODERS},
            "clinical_negatives": {
                "source": "MTS-Dialog training set (CC BY 4.0; Ben Abacha et al., EACL 2023)",
                "turns": len(data.negatives),
                "sha256": hashlib.sha256("\n".join(t.text for t in data.negatives).encode()).hexdigest(),
            },
            "sizes_mb": {p.name: round(p.stat().st_size / 1e6, 1) for p in sorted(out_dir.glob("*.onnx"))},
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__,
                "numpy": numpy.__version__,
                "sklearn": sklearn.__version__,
            },
        }
    )
    save(classifier, out_dir)
    return classifier


def compare(transcripts: Path | None, progress: Progress = lambda _: None) -> dict[str, dict[str, Any]]:
    """The shipped encoder and the TF-IDF family trained on the same examples, settings chosen the same
    way, assessed on the same sets: `{family: assessment}`. The TF-IDF family does not learn the reply
    contexts: their label was never written, and its logistic regressions need one."""
    from encounter_feedback.training.baseline import TfidfModel

    data = load_data(transcripts, progress)
    shipped = Classifier.load()
    progress("training the TF-IDF family")
    tfidf = finish(TfidfModel(data.examples), shipped.sentences, data, progress)
    if shipped.info.get("corpus_sha256") != corpus_hash():
        progress("the shipped encoder was trained on another corpus: assessing it as it is")
    encoder = finish(shipped.model, shipped.sentences, data, progress, tfidf.sentence_moments)  # the same reading
    return {"tfidf": tfidf.info["assessment"], "encoder": encoder.info["assessment"]}
