"""The `encounter` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from tqdm import tqdm

from server.agreement import AgreementError
from server.analyze import Analysis, InputError, TrackSource, analyze, load_sources
from server.api_client import ApiError
from server.asr import BUNDLED_MODEL, AsrEngine, ModelError, load_engine
from server.audio import SAMPLE_RATE, AudioError
from server.classify import ClassifyError
from server.corpus import CorpusError
from server.eaf import EafError
from server.export import ExportError
from server.live import ROLE_SPEAKERS
from server.moments import Classifier, ClassifierError
from server.replay import ReplayError
from server.research_cli import UnknownEncounterError, add_research_commands, data_option
from server.scenarios import ScenarioError, find_scenario
from server.store import Store
from server.summary import format_summary
from server.tts import TtsError

USER_ERRORS = (AudioError, InputError, ModelError, ScenarioError, TtsError, FileNotFoundError, ApiError, ReplayError,
               ClassifyError, ClassifierError, CorpusError, ExportError, AgreementError, EafError, UnknownEncounterError,
               OSError)
CLINICAL_TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinical-transcripts"


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

    serve_cmd = commands.add_parser("serve", help="run the live server: API, WebRTC stations, event stream, dashboard")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for stations on the LAN")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    serve_cmd.add_argument("--key", default=os.environ.get("ENCOUNTER_KEY"),
                           help="server access key (default: $ENCOUNTER_KEY, else generated once into DATA/access_key)")
    serve_cmd.add_argument("--ice-server", action="append", default=[], metavar="URL",
                           help="STUN/TURN server (stun:host:port or turn:USER:PASS@host:port), repeatable; "
                                "none by default: stations on the LAN connect directly")
    _common(serve_cmd)
    serve_cmd.set_defaults(run=_serve)

    stream_cmd = commands.add_parser("stream", help="play a recording into a live encounter over WebRTC, in real time")
    stream_cmd.add_argument("file", type=Path, metavar="FILE", help="recording (any format FFmpeg reads)")
    stream_cmd.add_argument("--server", default="http://127.0.0.1:8000", help="server URL (default: %(default)s)")
    stream_cmd.add_argument("--encounter", required=True, help="encounter id")
    stream_cmd.add_argument("--role", choices=list(ROLE_SPEAKERS), default="room",
                            help="role of the whole (mixed) file (default: room)")
    stream_cmd.add_argument("--channels", type=lambda s: s.split(","),
                            help="roles of the file's channels in order, each sent as its own track, e.g. patient,provider")
    stream_cmd.add_argument("--token", help="the encounter's join token (or give --key to look it up)")
    stream_cmd.add_argument("--key", default=os.environ.get("ENCOUNTER_KEY"),
                            help="server access key: looks up the token and prints the live transcript")
    stream_cmd.set_defaults(run=_stream)

    demo_cmd = commands.add_parser("demo", help="live demo: serve, then stream the bundled scenario over WebRTC")
    demo_cmd.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    demo_cmd.add_argument("--keep-serving", action="store_true",
                          help="keep the server running after the encounter, for the dashboard (Ctrl-C stops)")
    demo_cmd.add_argument("--write-wav", type=Path, metavar="FILE",
                          help="only write the synthesized dialogue as a two-channel WAV (patient, provider) and exit")
    _common(demo_cmd)
    demo_cmd.set_defaults(run=_demo)

    bench_cmd = commands.add_parser("bench", help="measure accuracy and speed")
    benches = bench_cmd.add_subparsers(required=True, metavar="BENCH")
    wer_cmd = benches.add_parser("wer", help="WER against human transcripts, side by side with batch faster-whisper")
    wer_cmd.add_argument("directory", type=Path, help="audio files with transcripts (audio/X.mp3 + transcripts/X.txt)")
    wer_cmd.add_argument("--model", default=BUNDLED_MODEL, help="Whisper model (default: bundled tiny.en)")
    wer_cmd.set_defaults(run=_bench_wer)
    live_cmd = benches.add_parser("live", help="latency, CPU, memory and backlog of concurrent live encounters")
    live_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE", help="recordings; encounter i plays file i mod n")
    live_cmd.add_argument("--encounters", type=int, default=1, help="concurrent encounters (default: 1)")
    live_cmd.add_argument("--channels", type=lambda s: s.split(","),
                          help="roles of the files' channels, e.g. patient,provider (default: one mixed room track)")
    live_cmd.add_argument("--limit", type=float, metavar="SECONDS", help="play only the first SECONDS of each file")
    live_cmd.add_argument("--stagger", type=float, default=0.0, metavar="SECONDS",
                          help="start encounter i i*SECONDS after the first (default 0: all at once; one file "
                               "played by several encounters in step has everyone say the same words at the same moment)")
    live_cmd.add_argument("--no-baseline", action="store_true", help="skip batch faster-whisper WER for comparison")
    live_cmd.add_argument("--model", default=BUNDLED_MODEL, help="Whisper model (default: bundled tiny.en)")
    live_cmd.set_defaults(run=_bench_live)
    moments_cmd = benches.add_parser("moments", help="moment and response accuracy, false alarms, speed")
    moments_cmd.add_argument("--transcripts", type=Path, default=CLINICAL_TRANSCRIPTS,
                             help="clinical dialogue CSVs (ACI-Bench, MTS-Dialog) for false alarms (default: %(default)s)")
    moments_cmd.set_defaults(run=_bench_moments)

    train_cmd = commands.add_parser("train", help="rebuild models/classifier.joblib from models/corpus (deterministic)")
    train_cmd.add_argument("--compare", action="store_true",
                           help="only compare feature sets (n-grams, sentence embeddings) on the held-out split, "
                                "with false alarms on --transcripts")
    train_cmd.add_argument("--transcripts", type=Path, default=CLINICAL_TRANSCRIPTS,
                           help="clinical dialogue CSVs for --compare's false alarms (default: %(default)s)")
    train_cmd.set_defaults(run=_train)

    classify_cmd = commands.add_parser(
        "classify", help="code utterances: JSONL {speaker, text, context} in, {moment, response, group, confidence} out")
    classify_cmd.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="JSONL input (default: stdin)")
    classify_cmd.set_defaults(run=_classify)

    add_research_commands(commands)
    return parser


def _common(cmd: argparse.ArgumentParser) -> None:
    data_option(cmd)
    cmd.add_argument("--model", default=BUNDLED_MODEL,
                     help="Whisper model: tiny.en (bundled) or a CTranslate2 model directory")


def _analyze_with_progress(
    sources: list[TrackSource], engine: AsrEngine, store: Store, out: Path, scenario: str | None, label: str,
    classifier: Classifier,
) -> Analysis:
    """`analyze` behind a bar over audio seconds; the pipeline reports each second twice (cut, then decoded)."""
    seconds = sum(len(s.track.samples) for s in sources) / SAMPLE_RATE
    with tqdm(total=2 * seconds, desc=label, unit="s", file=sys.stderr, leave=False,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        return analyze(sources, engine, store, out, scenario, bar.update, classifier)


def _analyze(args: argparse.Namespace) -> int:
    per_role = {"patient": args.patient, "provider": args.provider}
    inputs = args.inputs or [None]
    if args.scenario:
        find_scenario(args.scenario)  # an unknown scenario stops before any decoding
    engine = load_engine(args.model)
    classifier = Classifier.load()
    store = Store(args.data)
    for path in inputs:
        sources = load_sources(path, args.channels, per_role)
        out = args.out / path.stem if len(inputs) > 1 else args.out
        result = _analyze_with_progress(sources, engine, store, out, args.scenario, str(path or "tracks"), classifier)
        print(f"{result.encounter}: {len(result.segments)} segments -> {out}")
        print(format_summary(result.summary))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from server.live import parse_ice_server

    ice = tuple(parse_ice_server(url) for url in args.ice_server)
    return asyncio.run(_serve_until_stopped(args, ice))


async def _serve_until_stopped(args: argparse.Namespace, ice: tuple) -> int:
    from server.access import load_access_key
    from server.app import Services, create_app, running
    from server.live import LiveConfig

    key, generated = load_access_key(args.data, args.key)
    services = Services(Store(args.data), load_engine(args.model), key, classifier=Classifier.load(),
                        live_config=LiveConfig(ice_servers=ice))
    async with running(create_app(services), args.host, args.port) as server:
        print(f"Serving on {server.url} (data: {args.data})", flush=True)
        if generated:
            print(f"Generated the server access key (kept in {args.data / 'access_key'}): {key}", flush=True)
        print(f"Dashboard: {server.url}/?key={key}", flush=True)
        await server.task
    return 0


def _stream(args: argparse.Namespace) -> int:
    from server.audio import decode_file
    from server.replay import split_roles

    if not args.token and not args.key:
        raise InputError("give the encounter's --token, or the server --key to look it up")
    tracks = split_roles(decode_file(args.file).channels, args.role, args.channels)
    return asyncio.run(_stream_tracks(args, tracks))


async def _stream_tracks(args: argparse.Namespace, tracks: dict) -> int:
    from server.api_client import ApiClient
    from server.replay import follow_transcript, replay

    async with ApiClient(args.server, args.key) as api:
        token = args.token or await api.join_token(args.encounter)
        follower = asyncio.create_task(follow_transcript(api, args.encounter, sys.stdout)) if args.key else None
        seconds = max(len(t) for t in tracks.values()) / SAMPLE_RATE
        print(f"Streaming {args.file} ({seconds:.1f} s) as {', '.join(tracks)} to {args.encounter}...", file=sys.stderr)
        with tqdm(total=round(seconds), desc="streaming", unit="s", file=sys.stderr, leave=False) as bar:
            ticker = asyncio.create_task(_tick(bar, seconds))
            await replay(api, args.encounter, token, tracks)
            ticker.cancel()
        if follower is not None:
            await asyncio.sleep(2.0)  # the last utterance's final
            follower.cancel()
    print(f"Sent {seconds:.1f} s of audio.", file=sys.stderr)
    return 0


async def _tick(bar: tqdm, seconds: float) -> None:
    for _ in range(round(seconds)):
        await asyncio.sleep(1.0)
        bar.update(1)


def _demo(args: argparse.Namespace) -> int:
    from server.demo import live_demo, synthesize_scenario, write_two_channel

    if args.write_wav:
        write_two_channel(synthesize_scenario(), args.write_wav)
        return 0
    return asyncio.run(live_demo(args.data, args.model, args.port, args.keep_serving))


def _bench_wer(args: argparse.Namespace) -> int:
    from server.bench import bench_wer, format_wer

    engine = load_engine(args.model)
    bar = tqdm(desc="bench wer", unit="file", file=sys.stderr, leave=False)
    rows = bench_wer(args.directory, engine, on_file=lambda path: bar.set_postfix_str(path.name))
    bar.close()
    print(format_wer(rows))
    return 0


def _bench_live(args: argparse.Namespace) -> int:
    from server.bench_live import bench_live, format_live

    for path in args.files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    longest = (max(_duration(p) for p in args.files) if args.limit is None else args.limit) + args.stagger * (args.encounters - 1)
    with tqdm(total=round(longest), desc=f"bench live x{args.encounters}", unit="s", file=sys.stderr, leave=False) as bar:
        result = asyncio.run(bench_live(args.files, args.encounters, args.channels, args.limit, args.model,
                                        not args.no_baseline, bar.update, args.stagger))
    print(format_live(result))
    return 0


def _bench_moments(args: argparse.Namespace) -> int:
    from server.bench_moments import bench_moments

    transcripts = args.transcripts if args.transcripts.is_dir() else None
    if transcripts is None:
        print(f"no clinical transcripts at {args.transcripts}: false alarms not measured", file=sys.stderr)
    print(bench_moments(Classifier.load(), transcripts, lambda step: print(f"bench moments: {step}...", file=sys.stderr)))
    return 0


def _train(args: argparse.Namespace) -> int:
    from server.train import build, compare, format_metrics, save

    def progress(step: str) -> None:
        print(f"train: {step}...", file=sys.stderr)

    if args.compare:
        transcripts = args.transcripts if args.transcripts.is_dir() else None
        for features, metrics in compare(transcripts, progress):
            print(f"== {features}\n{format_metrics(metrics)}\n")
        return 0
    built = build(progress=progress)
    save(built.classifier)
    print(format_metrics(built.metrics))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from server.classify import classify_lines

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    for line in classify_lines(Classifier.load(), text.splitlines()):
        print(line)
    return 0


def _duration(path: Path) -> float:
    from server.audio import decode_file

    return decode_file(path).duration


if __name__ == "__main__":
    sys.exit(main())
