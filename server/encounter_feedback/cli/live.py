"""`encounter serve`, `stream` and `demo`: the live server, a recording played in as stations, and both at once."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from encounter_feedback.cli.options import NO_MODEL, asr_options, data_option, not_negative, positive, roles
from encounter_feedback.errors import UserError
from encounter_feedback.events import ROLE_SPEAKERS

if TYPE_CHECKING:
    from tqdm import tqdm

    from encounter_feedback.speech.asr import AsrEngine


def add_commands(commands: argparse._SubParsersAction) -> None:
    serve_cmd = commands.add_parser("serve", help="run the live server: API, WebRTC stations, event stream, dashboard")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for stations on the LAN")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    serve_cmd.add_argument(
        "--key",
        default=os.environ.get("ENCOUNTER_KEY"),
        help="server access key (default: $ENCOUNTER_KEY, else generated once into DATA/access_key; "
        "one from an older version that starts with '-' is written --key=VALUE)",
    )
    serve_cmd.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve https with this certificate (chain)")
    serve_cmd.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's private key")
    serve_cmd.add_argument(
        "--retain-days",
        type=positive,
        metavar="DAYS",
        help="erase encounters (events, notes, recordings) older than DAYS, checked hourly (default: keep)",
    )
    serve_cmd.add_argument(
        "--idle-close",
        type=not_negative,
        default=30.0,
        metavar="MINUTES",
        help="finish a live encounter no station has sent audio to for MINUTES (default: %(default)s; 0: never)",
    )
    serve_cmd.add_argument(
        "--ice-server",
        action="append",
        default=[],
        metavar="URL",
        help="STUN/TURN server (stun:host:port or turn:USER:PASS@host:port), repeatable; "
        "none by default: stations on the LAN connect directly",
    )
    data_option(serve_cmd)
    asr_options(serve_cmd, live=True)
    serve_cmd.set_defaults(run=_serve)

    stream_cmd = commands.add_parser("stream", help="play a recording into a live encounter over WebRTC, in real time")
    stream_cmd.add_argument("file", type=Path, metavar="FILE", help="recording (any format FFmpeg reads)")
    stream_cmd.add_argument("--server", default="http://127.0.0.1:8000", help="server URL (default: %(default)s)")
    stream_cmd.add_argument("--encounter", required=True, help="encounter id")
    stream_cmd.add_argument(
        "--role", choices=list(ROLE_SPEAKERS), default="room", help="role of the whole (mixed) file (default: room)"
    )
    stream_cmd.add_argument(
        "--channels",
        type=roles,
        help="roles of the file's channels in order, each sent as its own track, e.g. patient,provider",
    )
    stream_cmd.add_argument(
        "--token",
        help="the encounter's join token (or give --key to look it up); "
        "one from an older version that starts with '-' is written --token=VALUE",
    )
    stream_cmd.add_argument(
        "--key",
        default=os.environ.get("ENCOUNTER_KEY"),
        help="server access key (or an API token): looks up the token and prints the live transcript; "
        "one that starts with '-' is written --key=VALUE",
    )
    stream_cmd.add_argument(
        "--ca-cert", type=Path, metavar="PEM", help="trust this certificate for an https server (e.g. self-signed)"
    )
    stream_cmd.set_defaults(run=_stream)

    demo_cmd = commands.add_parser("demo", help="live demo: serve, then stream the bundled scenario over WebRTC")
    demo_cmd.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    demo_cmd.add_argument(
        "--keep-serving",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the server running after the encounter for the debrief, until Ctrl-C "
        "(default: when run from a terminal; --no-keep-serving stops at once)",
    )
    demo_cmd.add_argument(
        "--write-wav",
        type=Path,
        metavar="FILE",
        help="only write the synthesized dialogue as a two-channel WAV (patient, provider) and exit",
    )
    data_option(demo_cmd)
    asr_options(demo_cmd, live=True)
    demo_cmd.set_defaults(run=_demo)


def _serve(args: argparse.Namespace) -> int:
    from encounter_feedback.media.webrtc import parse_ice_server

    if (args.tls_cert is None) != (args.tls_key is None):
        raise UserError("give both --tls-cert and --tls-key (SECURITY.md shows how to make a self-signed pair)")
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            raise UserError(f"{path}: no such file")
    ice = tuple(parse_ice_server(url) for url in args.ice_server)
    return asyncio.run(_serve_until_stopped(args, ice))


async def _serve_until_stopped(args: argparse.Namespace, ice: tuple) -> int:
    from encounter_feedback.analysis.classifier import Classifier
    from encounter_feedback.pipeline.live import LiveConfig
    from encounter_feedback.store.database import Store
    from encounter_feedback.web.access import load_access_key
    from encounter_feedback.web.app import Services, Tls, create_app, running

    key, generated = load_access_key(args.data, args.key)
    engine, second_pass = live_engines(args)
    services = Services(
        Store(args.data),
        engine,
        key,
        classifier=Classifier.load(),
        second_pass_engine=second_pass,
        live_config=LiveConfig(ice_servers=ice, idle_close_s=args.idle_close * 60 if args.idle_close > 0 else None),
        retain_days=args.retain_days,
    )
    tls = Tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    async with running(create_app(services), args.host, args.port, tls) as server:
        print(f"Serving on {server.url} (data: {args.data})", flush=True)
        if generated:  # the only time the key is shown: the link logs the browser in and drops the key from the URL
            print(f"Generated the server access key, kept in {args.data / 'access_key'}.", flush=True)
            print(f"Open the dashboard once with {server.url}/?key={key}", flush=True)
        print(f"Dashboard: {server.url}/ (log in; accounts: encounter users add NAME --role ROLE)", flush=True)
        await server.task
    return 0


def live_engines(args: argparse.Namespace) -> tuple[AsrEngine, AsrEngine | None]:
    """The live model (`--model`), and the larger one for the second pass unless it is the same or none."""
    from encounter_feedback.speech.asr import load_engine
    from encounter_feedback.speech.models import model_cache

    cache = model_cache(args.data)
    engine = load_engine(args.model, engine=args.engine, cache=cache)
    if args.second_pass_model in (NO_MODEL, args.model):
        return engine, None
    return engine, load_engine(args.second_pass_model, engine=args.engine, cache=cache)


def _stream(args: argparse.Namespace) -> int:
    from encounter_feedback.media.audio import decode_file
    from encounter_feedback.stations.replay import split_roles

    if not args.token and not args.key:
        raise UserError("give the encounter's --token, or the server --key to look it up")
    tracks = split_roles(decode_file(args.file).channels, args.role, args.channels)
    return asyncio.run(_stream_tracks(args, tracks))


async def _stream_tracks(args: argparse.Namespace, tracks: dict) -> int:
    from tqdm import tqdm

    from encounter_feedback.media.audio import SAMPLE_RATE
    from encounter_feedback.stations.api_client import ApiClient
    from encounter_feedback.stations.replay import follow_transcript, replay

    async with ApiClient(args.server, args.key, verify=str(args.ca_cert) if args.ca_cert else True) as api:
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
    from encounter_feedback.cli.demo import live_demo, synthesize_scenario, write_two_channel

    if args.write_wav:
        write_two_channel(synthesize_scenario(), args.write_wav)
        return 0
    return asyncio.run(live_demo(args.data, *live_engines(args), args.port, args.keep_serving))
