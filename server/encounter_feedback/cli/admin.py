"""`encounter users` and `encounter delete`: the administrator's commands (accounts and erasure).

They work on the data directory directly, so they need a shell on the server machine, like
`DATA/access_key` does; the running server sees their changes at once (one SQLite file).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime

from encounter_feedback.cli.options import data_option, login_name
from encounter_feedback.errors import UserError
from encounter_feedback.store.accounts import ROLES, Accounts
from encounter_feedback.store.database import Store


def add_commands(commands: argparse._SubParsersAction) -> None:
    users_cmd = commands.add_parser("users", help="accounts: add, list and remove users; their API tokens")
    actions = users_cmd.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES, help="admin, faculty or researcher")
    _password_option(add)
    add.set_defaults(run=_add)

    listing = actions.add_parser("list", help="users, their roles and their API tokens")
    listing.set_defaults(run=_list)

    remove = actions.add_parser("remove", help="remove a user, their tokens and sessions")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=_remove)

    password = actions.add_parser("password", help="set a user's password (their sessions end)")
    password.add_argument("name", metavar="NAME")
    _password_option(password)
    password.set_defaults(run=_password)

    token = actions.add_parser("token", help="make a personal API token for a user (printed once)")
    token.add_argument("name", metavar="NAME")
    token.add_argument("--label", default="", help="what the token is for")
    token.set_defaults(run=_token)

    revoke = actions.add_parser("revoke", help="revoke an API token by its id (see `users list`)")
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    revoke.set_defaults(run=_revoke)
    for action in (add, listing, remove, password, token, revoke):
        data_option(action)

    delete_cmd = commands.add_parser(
        "delete", help="erase encounters: events, notes, metadata, recordings (logged in the access log)"
    )
    delete_cmd.add_argument("encounters", nargs="*", metavar="ENCOUNTER", help="encounter ids")
    delete_cmd.add_argument(
        "--before", metavar="DATE", help="every encounter created before DATE (YYYY-MM-DD, local time), unless running"
    )
    delete_cmd.add_argument("--dry-run", action="store_true", help="list what would be erased, erase nothing")
    delete_cmd.add_argument("--user", default=login_name(), help="who deletes, for the log (default: %(default)s)")
    data_option(delete_cmd)
    delete_cmd.set_defaults(run=_delete)


def _password_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin (scripts)"
    )


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def _add(args: argparse.Namespace) -> int:
    user = Accounts(Store(args.data)).add(args.name, args.role, _read_password(args))
    print(f"added {user.name} ({user.role}); they log in at the dashboard's /login.html")
    return 0


def _list(args: argparse.Namespace) -> int:
    accounts = Accounts(Store(args.data))
    tokens = accounts.tokens()
    for user in accounts.users():
        print(f"{user.name}\t{user.role}")
        for token in (t for t in tokens if t.user == user.name):
            made = datetime.fromtimestamp(token.created_at).isoformat(timespec="minutes")
            print(f"\ttoken {token.id} {token.label or '-'} (made {made})")
    return 0


def _remove(args: argparse.Namespace) -> int:
    Accounts(Store(args.data)).remove(args.name)
    print(f"removed {args.name}, their API tokens and sessions")
    return 0


def _password(args: argparse.Namespace) -> int:
    Accounts(Store(args.data)).set_password(args.name, _read_password(args))
    print(f"new password for {args.name}; their open sessions have ended")
    return 0


def _token(args: argparse.Namespace) -> int:
    info, token = Accounts(Store(args.data)).add_token(args.name, args.label)
    print(f"API token {info.id} for {args.name} (shown only now; send it as 'Authorization: Bearer TOKEN'):")
    print(token)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    Accounts(Store(args.data)).revoke(args.token_id)
    print(f"revoked {args.token_id}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from encounter_feedback.research.export import parse_date

    if bool(args.encounters) == bool(args.before):
        raise UserError("give encounter ids or --before DATE (one of them)")
    store = Store(args.data)
    if args.before:
        ids = [record.id for record in store.created_before(parse_date(args.before))]
    else:
        ids = [store.encounter(encounter_id).id for encounter_id in args.encounters]  # all known before any goes
    for encounter_id in ids:
        if not args.dry_run:
            store.delete_encounter(encounter_id, args.user)
        print(f"{'would erase' if args.dry_run else 'erased'} {encounter_id}")
    print(f"{len(ids)} encounter(s) {'to erase' if args.dry_run else 'erased'}")
    return 0
