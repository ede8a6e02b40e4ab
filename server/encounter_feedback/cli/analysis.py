"""`encounter analyze`, `classify` and `train`: recordings and text in, annotations and models out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from encounter_feedback.cli.options import CLINICAL_TRANSCRIPTS, asr_options, data_option, existing_file, roles
from encounter_feedback.speech.models import BUNDLED_MODEL, larger_model
from encounter_feedback.taxonomy import CASES
from encounter_feedback.textfiles import decode, read_text


def add_commands(commands: argparse._SubParsersAction) -> None:
    analyze_cmd = commands.add_parser("analyze", help="transcribe and annotate recorded encounters")
    analyze_cmd.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="recording(s), one encounter each (any format FFmpeg reads)",
    )
    analyze_cmd.add_argument(
        "--channels", type=roles, help="roles of a multichannel INPUT's channels in order, e.g. patient,provider"
    )
    analyze_cmd.add_argument("--patient", type=Path, help="the patient's own track (with --provider)")
    analyze_cmd.add_argument("--provider", type=Path, help="the provider's own track (with --patient)")
    analyze_cmd.add_argument(
        "--out", type=Path, required=True, help="directory for annotations.jsonl and transcript.txt"
    )
    analyze_cmd.add_argument("--scenario", help="scenario id the encounter played")
    data_option(analyze_cmd)
    asr_options(analyze_cmd, model_default=larger_model() or BUNDLED_MODEL)
    analyze_cmd.set_defaults(run=_analyze)

    train_cmd = commands.add_parser(
        "train",
        help="rebuild the classifier in models/ from models/corpus (deterministic; needs the [train] extra)",
    )
    train_cmd.add_argument(
        "--compare",
        action="store_true",
        help="only compare the shipped encoder with the TF-IDF family trained on the same examples: "
        "dev, held-out, external sets, false alarms",
    )
    train_cmd.add_argument(
        "--settings-only",
        action="store_true",
        help="keep the trained encoder; choose thresholds and calibration on dev again and reassess "
        "(after a change in how the model is run; no PyTorch needed)",
    )
    train_cmd.add_argument(
        "--transcripts",
        type=Path,
        default=CLINICAL_TRANSCRIPTS,
        help="clinical dialogue CSVs: training negatives (MTS-Dialog training set) and false alarms "
        "(default: %(default)s)",
    )
    train_cmd.set_defaults(run=_train)

    classify_cmd = commands.add_parser(
        "classify",
        help="code utterances: JSONL {speaker, text, context, case, scenario, id} in, "
        "{id, moment, response, group, confidence} out",
    )
    classify_cmd.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="JSONL input (default: stdin)")
    classify_cmd.add_argument(
        "--case",
        choices=CASES,
        default="general",
        help="how lines that name no case or scenario are read (default: %(default)s)",
    )
    classify_cmd.add_argument(
        "--scenario", help="scenario id for lines that name no case or scenario: its case and scripted cue lines"
    )
    classify_cmd.set_defaults(run=_classify)


def _analyze(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from encounter_feedback.analysis.classifier import Classifier
    from encounter_feedback.analysis.summary import format_summary
    from encounter_feedback.media.audio import SAMPLE_RATE
    from encounter_feedback.pipeline.offline import analyze, load_sources
    from encounter_feedback.scenarios import find_scenario
    from encounter_feedback.speech.asr import load_engine
    from encounter_feedback.speech.models import model_cache
    from encounter_feedback.store.database import Store

    per_role = {"patient": args.patient, "provider": args.provider}
    inputs = args.inputs or [None]
    if args.scenario:
        find_scenario(args.scenario)  # an unknown scenario stops before any decoding
    engine = load_engine(args.model, engine=args.engine, cache=model_cache(args.data))
    classifier = Classifier.load()
    store = Store(args.data)
    for path in inputs:
        sources = load_sources(path, args.channels, per_role)
        out = args.out / path.stem if len(inputs) > 1 else args.out
        seconds = sum(len(s.track.samples) for s in sources) / SAMPLE_RATE
        # The pipeline reports each second twice: once cut, once decoded.
        with tqdm(
            total=2 * seconds,
            desc=str(path or "tracks"),
            unit="s",
            file=sys.stderr,
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
        ) as bar:
            result = analyze(sources, engine, store, out, args.scenario, bar.update, classifier)
        print(f"{result.encounter}: {len(result.segments)} segments -> {out}")
        print(format_summary(result.summary))
    return 0


def _train(args: argparse.Namespace) -> int:
    from encounter_feedback.training.evaluate import format_assessment
    from encounter_feedback.training.train import build, compare, resettle

    def progress(step: str) -> None:
        print(f"train: {step}...", file=sys.stderr)

    transcripts = args.transcripts if args.transcripts.is_dir() else None
    if transcripts is None:
        print(f"no clinical transcripts at {args.transcripts}: no clinical negatives, no false alarms", file=sys.stderr)
    if args.compare:
        for family, assessment in compare(transcripts, progress).items():
            print(f"== {family}\n{format_assessment(assessment)}\n")
        return 0
    remake = resettle if args.settings_only else build
    classifier = remake(transcripts=transcripts, progress=progress)
    print(format_assessment(classifier.info["assessment"]))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from encounter_feedback.analysis.classifier import Classifier
    from encounter_feedback.analysis.classify import Defaults, classify_lines
    from encounter_feedback.scenarios import find_scenario

    if args.scenario:
        find_scenario(args.scenario)  # an unknown scenario stops before reading the input
    text = decode(sys.stdin.buffer.read(), "stdin") if args.file == "-" else read_text(existing_file(Path(args.file)))
    for line in classify_lines(Classifier.load(), text.splitlines(), Defaults(args.case, args.scenario)):
        print(line)
    return 0
