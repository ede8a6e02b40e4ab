"""Schemathesis against the served OpenAPI spec: every documented status and schema holds, valid
requests are accepted and invalid ones refused (4xx), with a real server, a real store and a
person's API token. Bounded (examples per operation, one worker, a fixed seed) so CI runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from encounter_feedback.store.accounts import Accounts
from encounter_feedback.store.database import Store
from encounter_feedback.web.app import Services, create_app
from servers import serving

TESTS = Path(__file__).parent
EXAMPLES = 10


def test_schemathesis_finds_no_failure(tmp_path, engine):
    store = Store(tmp_path / "data")
    accounts = Accounts(store)
    accounts.add("dr-admin", "admin", "correct horse battery")
    info, token = accounts.add_token("dr-admin", "fuzz")
    with serving(create_app(Services(store, engine, "server-key"))) as url:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(TESTS / "schemathesis.toml"),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                str(EXAMPLES),
                "--workers",
                "1",
                "--seed",
                "7",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
                "FUZZ_TOKEN_ID": info.id,
                "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            },
            timeout=600,
            cwd=tmp_path,  # schemathesis keeps its example database in the working directory
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert "No issues found" in report or " passed" in report, report[-3000:]
