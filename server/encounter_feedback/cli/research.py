"""`encounter export`, `agreement`, `metadata`, `scenarios`, `audit`: the researcher's commands.

They only read and edit the store: none loads a model.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from encounter_feedback.cli.options import data_option, login_name, positive
from encounter_feedback.research.codebook import FORMATS
from encounter_feedback.scenarios import Challenge, find_scenario, json_schema, load_library, load_scenario
from encounter_feedback.store.database import Store
from encounter_feedback.taxonomy import SCHEMES


def add_commands(commands: argparse._SubParsersAction) -> None:
    export_cmd = commands.add_parser(
        "export", help="research export: CSV, JSONL, WebVTT, SRT, Praat TextGrid, ELAN, with a codebook"
    )
    export_cmd.add_argument("encounters", nargs="*", metavar="ENCOUNTER", help="encounter ids (default: the filters)")
    export_cmd.add_argument("--scenario", help="only encounters of this scenario")
    export_cmd.add_argument("--cohort", help="only this cohort")
    export_cmd.add_argument("--condition", help="only this condition")
    export_cmd.add_argument("--since", metavar="DATE", help="created on or after DATE (YYYY-MM-DD, local time)")
    export_cmd.add_argument("--until", metavar="DATE", help="created on or before DATE")
    export_cmd.add_argument(
        "--blind", action="store_true", help="participant ids as stable codes; condition and other metadata withheld"
    )
    export_cmd.add_argument(
        "--format", default="all", help=f"all (default), or one or more of {', '.join(FORMATS)}, comma-separated"
    )
    export_cmd.add_argument("--out", type=Path, required=True, help="directory to write (new files only)")
    export_cmd.add_argument(
        "--user", default=login_name(), help="who exports, for the audit log (default: %(default)s)"
    )
    data_option(export_cmd)
    export_cmd.set_defaults(run=_export)

    agreement_cmd = commands.add_parser(
        "agreement",
        help="agreement of two codings: percent, Cohen's kappa, confusion matrix; or of responsiveness scores: "
        "weighted kappa, ICC, Spearman",
    )
    for side in ("a", "b"):
        agreement_cmd.add_argument(
            side,
            metavar=side.upper(),
            help=(
                "a stored encounter id (the system's codes), an exported events.jsonl/.csv (FILE#ENCOUNTER if it holds "
                "several), a coder's CSV (t0,t1,label; seconds) or an ELAN file (FILE.eaf#TIER)"
            )
            if side == "a"
            else "the other coding, in any of the same forms",
        )
    agreement_cmd.add_argument(
        "--scheme",
        choices=(*SCHEMES, "responsiveness"),
        help="moment, response or group codes (default: all three), or responsiveness scores "
        "(the default when a side is a coder's CSV with a score column: moment,score or t0,t1,score)",
    )
    agreement_cmd.add_argument("--unit", type=positive, help="frame length in seconds (default: 1)")
    data_option(agreement_cmd)
    agreement_cmd.set_defaults(run=_agreement)

    metadata_cmd = commands.add_parser("metadata", help="show or edit an encounter's research metadata")
    metadata_cmd.add_argument("encounter", metavar="ENCOUNTER")
    metadata_cmd.add_argument(
        "changes",
        nargs="*",
        type=_change,
        metavar="KEY=VALUE",
        help="set participant, cohort, condition, station, session or any key; KEY= removes it",
    )
    metadata_cmd.add_argument("--scenario", help="set the scenario id ('' clears it)")
    data_option(metadata_cmd)
    metadata_cmd.set_defaults(run=_metadata)

    scenarios_cmd = commands.add_parser("scenarios", help="check scenario files and list them")
    scenarios_cmd.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="files to check (default: the library)"
    )
    scenarios_cmd.add_argument(
        "--schema", action="store_true", help="print the JSON Schema of a scenario file (for editors) instead"
    )
    scenarios_cmd.set_defaults(run=_scenarios)

    audit_cmd = commands.add_parser(
        "audit", help="the audit log: who exported, read, watched or deleted which encounters, when"
    )
    data_option(audit_cmd)
    audit_cmd.set_defaults(run=_audit)


def _change(text: str) -> tuple[str, str | None]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: write KEY=VALUE (or KEY= to remove the key)")
    return key, value or None


def _export(args: argparse.Namespace) -> int:
    from encounter_feedback.research.export import Selection, build, parse_formats, write_directory

    store = Store(args.data)
    selection = Selection(tuple(args.encounters), args.scenario, args.cohort, args.condition, args.since, args.until)
    built = build(store, selection, parse_formats(args.format), args.blind)
    write_directory(built.files, args.out)
    record = built.record(store, args.user)
    print(
        f"exported {len(built.encounters)} encounter(s) as {','.join(built.formats)}"
        f"{' (blind)' if built.blind else ''}: {len(built.files)} files in {args.out} (audit log #{record.id})"
    )
    return 0


def _agreement(args: argparse.Namespace) -> int:
    from encounter_feedback.research.agreement import (
        UNIT_S,
        compare,
        format_agreement,
        format_score_agreement,
        is_score_file,
        load_codes,
        load_scores,
        pair_scores,
        score_agreement,
    )

    store = Store(args.data)
    if args.scheme == "responsiveness" or (args.scheme is None and (is_score_file(args.a) or is_score_file(args.b))):
        sa, sb = load_scores(args.a, store), load_scores(args.b, store)
        print(format_score_agreement(sa, sb, score_agreement(*pair_scores(sa, sb))))
        return 0
    a, b = load_codes(args.a, store), load_codes(args.b, store)
    schemes = [args.scheme] if args.scheme else SCHEMES
    print("\n\n".join(format_agreement(a, b, compare(a, b, scheme, args.unit or UNIT_S)) for scheme in schemes))
    return 0


def _metadata(args: argparse.Namespace) -> int:
    store = Store(args.data)
    store.encounter(args.encounter)
    if args.scenario is not None:
        if args.scenario:
            find_scenario(args.scenario)
        store.set_scenario(args.encounter, args.scenario or None)
    record = store.update_metadata(args.encounter, dict(args.changes))
    print(json.dumps({"id": record.id, "scenario": record.scenario, "metadata": record.metadata}, indent=2))
    return 0


def _challenge_line(challenge: Challenge) -> str:
    """`label at m:ss (situational, 5 scripted microaggressions)`: what an SP author checks at a glance."""
    when = f" at {int(challenge.at // 60)}:{challenge.at % 60:02.0f}" if challenge.at is not None else ""
    extras = ["situational"] if challenge.kind == "situational" else []
    if challenge.microaggressions:
        extras.append(f"{len(challenge.microaggressions)} scripted microaggressions")
    return challenge.label + when + (f" ({', '.join(extras)})" if extras else "")


def _scenarios(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(json_schema(), indent=2))
        return 0
    scenarios = [load_scenario(path) for path in args.files] if args.files else load_library()
    for scenario in scenarios:
        challenges = ", ".join(_challenge_line(c) for c in scenario.challenges) or "none (control)"
        print(f"{scenario.id}: {scenario.title}; challenges: {challenges}; dialogue: {len(scenario.dialogue)} lines")
    return 0


def _audit(args: argparse.Namespace) -> int:
    """Exports (numbered as in their log) and accesses, in time order."""
    store = Store(args.data)
    lines = []
    for record in store.exports():
        filters = json.dumps(record.filters) if record.filters else "-"
        blind = " blind" if record.blind else ""
        lines.append(
            (
                record.at,
                f"#{record.id} {_when(record.at)} {record.who}: {record.format}{blind}, filters {filters}, "
                f"{len(record.encounters)} encounter(s): {' '.join(record.encounters)}",
            )
        )
    for access in store.accesses():
        detail = f" ({access.detail})" if access.detail else ""
        lines.append(
            (access.at, f"- {_when(access.at)} {access.who}: {access.action} {access.encounter or ''}{detail}")
        )
    for _, line in sorted(lines, key=lambda pair: pair[0]):
        print(line)
    return 0


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).isoformat(timespec="seconds")
