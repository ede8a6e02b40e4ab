"""The `encounter` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from server.analyze import Analysis, InputError, TrackSource, analyze, format_transcript, load_sources
from server.asr import BUNDLED_MODEL, AsrEngine, ModelError, load_engine
from server.audio import SAMPLE_RATE, AudioError, write_wav
from server.scenarios import ScenarioError, find_scenario
from server.store import Store, default_data_dir
from server.tts import TtsError

DEMO_SCENARIO = "ed-pain-dismissed"
USER_ERRORS = (AudioError, InputError, ModelError, ScenarioError, TtsError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as exc:
        print(f"encounter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="encounter", description="Real-time encounter feedback for simulation centers.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    analyze_cmd = commands.add_parser("analyze", help="transcribe and annotate recorded encounters")
    analyze_cmd.add_argument("inputs", nargs="*", type=Path, metavar="INPUT",
                             help="recording(s), one encounter each (any format FFmpeg reads)")
    analyze_cmd.add_argument("--channels", type=lambda s: s.split(","),
                             help="roles of a multichannel INPUT's channels in order, e.g. patient,provider")
    analyze_cmd.add_argument("--patient", type=Path, help="the patient's own track (with --provider)")
    analyze_cmd.add_argument("--provider", type=Path, help="the provider's own track (with --patient)")
    analyze_cmd.add_argument("--out", type=Path, required=True, help="directory for annotations.jsonl and transcript.txt")
    analyze_cmd.add_argument("--scenario", help="scenario id the encounter played")
    _common(analyze_cmd)
    analyze_cmd.set_defaults(run=_analyze)

    demo_cmd = commands.add_parser("demo", help="synthesize the bundled scenario and analyze it")
    demo_cmd.add_argument("--out", type=Path, help="where to put the demo audio and annotations (default: DATA/demo)")
    _common(demo_cmd)
    demo_cmd.set_defaults(run=_demo)

    bench_cmd = commands.add_parser("bench", help="measure accuracy and speed")
    benches = bench_cmd.add_subparsers(required=True, metavar="BENCH")
    wer_cmd = benches.add_parser("wer", help="WER against human transcripts, side by side with batch faster-whisper")
    wer_cmd.add_argument("directory", type=Path, help="audio files with transcripts (audio/X.mp3 + transcripts/X.txt)")
    wer_cmd.add_argument("--model", default=BUNDLED_MODEL, help="Whisper model (default: bundled tiny.en)")
    wer_cmd.set_defaults(run=_bench_wer)
    return parser


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--data", type=Path, default=default_data_dir(), help="data directory (default: %(default)s)")
    cmd.add_argument("--model", default=BUNDLED_MODEL,
                     help="Whisper model: tiny.en (bundled) or a CTranslate2 model directory")


def _analyze_with_progress(
    sources: list[TrackSource], engine: AsrEngine, store: Store, out: Path, scenario: str | None, label: str
) -> Analysis:
    """`analyze` behind a bar over audio seconds; the pipeline reports each second twice (cut, then decoded)."""
    seconds = sum(len(s.track.samples) for s in sources) / SAMPLE_RATE
    with tqdm(total=2 * seconds, desc=label, unit="s", file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        return analyze(sources, engine, store, out, scenario, bar.update)


def _analyze(args: argparse.Namespace) -> int:
    per_role = {"patient": args.patient, "provider": args.provider}
    inputs = args.inputs or [None]
    engine = load_engine(args.model)
    store = Store(args.data)
    for path in inputs:
        sources = load_sources(path, args.channels, per_role)
        out = args.out / path.stem if len(inputs) > 1 else args.out
        result = _analyze_with_progress(sources, engine, store, out, args.scenario, str(path or "tracks"))
        print(f"{result.encounter}: {len(result.segments)} segments -> {out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from server.tts import render_dialogue

    scenario = find_scenario(DEMO_SCENARIO)
    out = args.out or args.data / "demo"
    out.mkdir(parents=True, exist_ok=True)
    print(f"Scenario: {scenario.title}\nSynthesizing {len(scenario.dialogue)} lines with eSpeak NG...", file=sys.stderr)
    dialogue = render_dialogue([(line.role, line.text) for line in scenario.dialogue])
    paths = {}
    for role, samples in dialogue.tracks.items():
        paths[role] = out / f"{role}.wav"
        write_wav(paths[role], samples)
    sources = load_sources(per_role=paths)
    result = _analyze_with_progress(sources, load_engine(args.model), Store(args.data), out, scenario.id, "analyzing")
    print(format_transcript(result.segments), end="")
    print(f"\nEncounter {result.encounter}: audio, annotations.jsonl and transcript.txt in {out}", file=sys.stderr)
    return 0


def _bench_wer(args: argparse.Namespace) -> int:
    from server.bench import bench_wer, format_wer

    engine = load_engine(args.model)
    bar = tqdm(desc="bench wer", unit="file", file=sys.stderr, leave=False)
    rows = bench_wer(args.directory, engine, on_file=lambda path: bar.set_postfix_str(path.name))
    bar.close()
    print(format_wer(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
