"""The `encounter` command line (see main.py)."""

from encounter_feedback.cli.main import main

__all__ = ["main"]
