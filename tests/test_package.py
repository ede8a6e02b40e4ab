"""The built wheel, installed outside the checkout, carries everything it needs: the dashboard,
the classifier and the scenario library travel as package data, and the `encounter` command works.

The new environment reuses this environment's third-party packages (a `.pth` line) so the test
checks what the wheel itself holds, not how fast pip resolves dependencies.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed (no editable link): its bin dir."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work), str(ROOT)],
        check=True,
    )
    [wheel] = work.glob("encounter_feedback-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    [packages] = (env_dir / "lib").glob("python3*/site-packages")
    dependencies = [p for p in site.getsitepackages() if p.endswith("site-packages")]
    (packages / "dependencies.pth").write_text("\n".join(dependencies) + "\n")
    subprocess.run([str(env_dir / "bin" / "pip"), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    return env_dir / "bin"


def run(bin_dir: Path, *args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(bin_dir / "encounter"), *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_the_package_is_imported_from_the_wheel_not_the_checkout(installed, tmp_path):
    result = subprocess.run(
        [str(installed / "python"), "-c", "import encounter_feedback as e; print(e.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    location = Path(result.stdout.strip())
    assert installed.parent in location.parents and ROOT not in location.parents


def test_scenarios_and_classify_work_from_the_wheel(installed, tmp_path):
    listing = run(installed, "scenarios", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "ed-pain-dismissed" in listing.stdout and "control-ankle-sprain" in listing.stdout
    lines = [
        {"speaker": "patient", "text": "The ER sent me home and I think it's because I'm Black."},
        {"speaker": "provider", "text": "That should never have happened to you.", "context": "They sent me home."},
    ]
    coded = run(installed, "classify", stdin="".join(json.dumps(line) + "\n" for line in lines), cwd=tmp_path)
    assert coded.returncode == 0, coded.stderr
    assert json.loads(coded.stdout.splitlines()[0])["moment"] == "discrimination_disclosure"


def test_the_installed_server_serves_the_dashboard(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    server = subprocess.Popen(
        [str(installed / "encounter"), "serve", "--port", "0", "--data", str(tmp_path / "data"), "--key", "k"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = next(line.split()[2] for line in server.stdout if line.startswith("Serving on "))
        page = httpx.get(f"{url}/", timeout=10)
        script = httpx.get(f"{url}/js/debrief.js", timeout=10)
        assert page.status_code == 200 and "<title>Encounter feedback" in page.text
        assert script.status_code == 200 and "import" in script.text
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
