"""`encounter bench wer | live | speakers | crosstalk | moments`: figures measured, never asserted in tests."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from encounter_feedback.cli.options import (
    CLINICAL_TRANSCRIPTS,
    CONSULTATIONS,
    MODEL_HELP,
    SHARED_STEREO,
    asr_options,
    at_least_one,
    data_option,
    existing_file,
    not_negative,
    positive,
    roles,
    several,
)
from encounter_feedback.speech.models import BUNDLED_MODEL, DEFAULT_ENGINE, ENGINES


def add_commands(commands: argparse._SubParsersAction) -> None:
    bench_cmd = commands.add_parser("bench", help="measure accuracy and speed")
    benches = bench_cmd.add_subparsers(required=True, metavar="BENCH")
    wer_cmd = benches.add_parser(
        "wer", help="WER and speed of engines and models side by side, and of batch faster-whisper"
    )
    wer_cmd.add_argument("directory", type=Path, help="audio files with transcripts (audio/X.mp3 + transcripts/X.txt)")
    wer_cmd.add_argument(
        "--engine",
        type=several(ENGINES),
        default=[DEFAULT_ENGINE],
        metavar="ENGINE[,ENGINE]",
        help=f"recognisers to compare: {', '.join(ENGINES)} (default: {DEFAULT_ENGINE})",
    )
    wer_cmd.add_argument(
        "--model",
        type=several(),
        default=[BUNDLED_MODEL],
        metavar="MODEL[,MODEL]",
        help=f"{MODEL_HELP}; several are compared, each with every --engine (default: {BUNDLED_MODEL})",
    )
    wer_cmd.add_argument("--no-baseline", action="store_true", help="skip batch faster-whisper")
    data_option(wer_cmd)
    wer_cmd.set_defaults(run=_bench_wer)

    live_cmd = benches.add_parser("live", help="latency, CPU, memory and backlog of concurrent live encounters")
    live_cmd.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="recordings; encounter i plays file i mod n"
    )
    live_cmd.add_argument("--encounters", type=at_least_one, default=1, help="concurrent encounters (default: 1)")
    live_cmd.add_argument(
        "--channels",
        type=roles,
        help="roles of the files' channels, e.g. patient,provider (default: one mixed room track)",
    )
    live_cmd.add_argument("--limit", type=positive, metavar="SECONDS", help="play only the first SECONDS of each file")
    live_cmd.add_argument(
        "--stagger",
        type=not_negative,
        default=0.0,
        metavar="SECONDS",
        help="start encounter i i*SECONDS after the first (default 0: all at once; one file "
        "played by several encounters in step has everyone say the same words at the same moment)",
    )
    live_cmd.add_argument("--no-baseline", action="store_true", help="skip batch faster-whisper WER for comparison")
    asr_options(live_cmd, live=True)
    live_cmd.set_defaults(run=_bench_live)

    speakers_cmd = benches.add_parser(
        "speakers", help="who said it on room recordings: speaker-attributed WER, wrong-speaker words, roles, CPU"
    )
    speakers_cmd.add_argument(
        "directory", type=Path, help="room recordings with D:/P: transcripts (audio/X.mp3 + transcripts/X.txt)"
    )
    asr_options(speakers_cmd)
    speakers_cmd.set_defaults(run=_bench_speakers)

    crosstalk_cmd = benches.add_parser(
        "crosstalk", help="words transcribed twice by two role microphones, before and after suppression"
    )
    crosstalk_cmd.add_argument(
        "--stereo",
        type=Path,
        default=SHARED_STEREO,
        help="a real two-voice stereo clip, one voice per channel (default: %(default)s, when present)",
    )
    asr_options(crosstalk_cmd)
    crosstalk_cmd.set_defaults(run=_bench_crosstalk)

    moments_cmd = benches.add_parser(
        "moments",
        help="moments and responses on each set (held-out, external), false alarms, non-racial bias, speed, "
        "responsiveness agreement",
    )
    moments_cmd.add_argument(
        "--transcripts",
        type=Path,
        default=CLINICAL_TRANSCRIPTS,
        help="clinical dialogue CSVs (ACI-Bench, MTS-Dialog) for false alarms (default: %(default)s)",
    )
    moments_cmd.add_argument(
        "--consultations",
        type=Path,
        default=CONSULTATIONS,
        help="D:/P: consultation transcripts (*.txt) for false alarms on more real talk (default: %(default)s)",
    )
    moments_cmd.add_argument(
        "--no-baseline", action="store_true", help="skip training the TF-IDF family for its latency (a few minutes)"
    )
    moments_cmd.set_defaults(run=_bench_moments)


def _bench_wer(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from encounter_feedback.bench.wer import bench_wer, format_wer
    from encounter_feedback.speech.asr import load_engine
    from encounter_feedback.speech.models import model_cache

    cache = model_cache(args.data)
    engines = [load_engine(model, engine=engine, cache=cache) for model in args.model for engine in args.engine]
    with tqdm(desc="bench wer", unit="file", file=sys.stderr, leave=False) as bar:
        rows = bench_wer(
            args.directory, engines, not args.no_baseline, on_file=lambda path: bar.set_postfix_str(path.name)
        )
    print(format_wer(rows))
    return 0


def _bench_live(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from encounter_feedback.bench.live import bench_live, format_live
    from encounter_feedback.media.audio import decode_file

    files = [existing_file(path) for path in args.files]
    longest = max(decode_file(p).duration for p in files) if args.limit is None else args.limit
    longest += args.stagger * (args.encounters - 1)
    with tqdm(
        total=round(longest), desc=f"bench live x{args.encounters}", unit="s", file=sys.stderr, leave=False
    ) as bar:
        result = asyncio.run(
            bench_live(
                files,
                args.encounters,
                args.channels,
                args.limit,
                args.model,
                not args.no_baseline,
                bar.update,
                args.stagger,
                args.engine,
                args.second_pass_model,
            )
        )
    print(format_live(result))
    return 0


def _bench_moments(args: argparse.Namespace) -> int:
    from encounter_feedback.analysis.classifier import Classifier
    from encounter_feedback.bench.moments import bench_moments, tfidf_baseline

    def progress(step: str) -> None:
        print(f"bench moments: {step}...", file=sys.stderr)

    transcripts = args.transcripts if args.transcripts.is_dir() else None
    if transcripts is None:
        print(f"no clinical transcripts at {args.transcripts}: false alarms not measured", file=sys.stderr)
    consultations = args.consultations if args.consultations.is_dir() else None
    if consultations is None:
        print(f"no consultation transcripts at {args.consultations}: their false alarms not measured", file=sys.stderr)
    baseline = None if args.no_baseline else tfidf_baseline(transcripts, progress)
    print(bench_moments(Classifier.load(), transcripts, progress, baseline, consultations))
    return 0


def _bench_speakers(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from encounter_feedback.bench.speakers import bench_speakers, format_speakers
    from encounter_feedback.speech.asr import load_engine

    engine = load_engine(args.model, engine=args.engine)
    with tqdm(desc="bench speakers", unit="file", file=sys.stderr, leave=False) as bar:
        rows = bench_speakers(args.directory, engine, on_file=lambda path: bar.set_postfix_str(path.name))
    print(format_speakers(rows))
    return 0


def _bench_crosstalk(args: argparse.Namespace) -> int:
    from encounter_feedback.bench.crosstalk import bench_crosstalk, format_crosstalk
    from encounter_feedback.speech.asr import load_engine

    stereo = args.stereo if args.stereo.is_file() else None
    if stereo is None:
        print(f"no stereo clip at {args.stereo}: only the TTS dialogue is measured", file=sys.stderr)
    print(format_crosstalk(bench_crosstalk(load_engine(args.model, engine=args.engine), stereo)))
    return 0
