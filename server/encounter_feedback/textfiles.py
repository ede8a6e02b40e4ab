"""Text files people hand the tools (a coder's CSV, a JSONL of turns, a scenario): UTF-8, with or
without the byte-order mark that Excel's "CSV UTF-8" and Windows Notepad put first. Anything else
is an error that says which line and how to save the file, not a traceback: a coder's CSV saved
from Excel as plain "CSV" is Windows-1252, and "é" in a label would otherwise stop the tool."""

from __future__ import annotations

from pathlib import Path

from encounter_feedback.errors import UserError


def read_text(path: Path) -> str:
    """The text of a file someone gave us (UTF-8, a leading byte-order mark dropped)."""
    return decode(path.read_bytes(), str(path))


def decode(data: bytes, name: str) -> str:
    """`data` as UTF-8 text, a leading byte-order mark dropped; `name` says where it came from."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(
            f"{name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02X}); "
            "save the file as UTF-8 (from Excel: CSV UTF-8)"
        ) from None
