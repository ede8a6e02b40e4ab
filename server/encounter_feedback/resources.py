"""Where things are: the folders the product ships beside its code (the dashboard, the models, the
scenarios), and the per-user data directory.

In a source checkout they are the repository's top-level `client/`, `models/` and `scenarios/`,
so an edit (a retrained model, a new scenario) shows at once; in an installed wheel they are
package data under `encounter_feedback/bundled/` (pyproject.toml's force-include).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import platformdirs

Bundled = Literal["client", "models", "scenarios"]

_CHECKOUT = Path(__file__).resolve().parents[2]
"""The repository root when running from a source checkout (server/encounter_feedback/..)."""


def bundled_dir(name: Bundled) -> Path:
    """The folder `name`: the checkout's own, else the copy inside the installed package."""
    source = _CHECKOUT / name
    if (_CHECKOUT / "pyproject.toml").is_file() and source.is_dir():
        return source
    return Path(str(resources.files(__package__) / "bundled" / name))


def shared_data_dir(name: str) -> Path:
    """`../shared/data/NAME` beside a source checkout: the project's development data (real
    recordings and transcripts written by others). Absent on an installed machine."""
    return _CHECKOUT.parent / "shared" / "data" / name


def default_data_dir() -> Path:
    """Where encounters (and models made locally) live unless `--data` says otherwise (per-user, never shared)."""
    return Path(platformdirs.user_data_dir("encounter-feedback"))
