"""Owner-only files and folders: everything the server keeps about encounters.

The data directory holds participant ids, join tokens, faculty notes and voices, so it is
created 0700 and every file the server writes in it (the database and its WAL, recordings,
keys) or for a researcher (exports) is created 0600, whatever the process umask says. Files
are created with their mode (not chmod-ed afterwards, so there is no moment at which another
user could open them); a file or folder left from an older version is narrowed when reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Literal

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` and its missing parents created owner-only, and `path` itself made owner-only."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=DIR_MODE, exist_ok=True)  # mkdir(parents=True) would give the parents the umask's mode
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def open_private(path: Path, mode: Literal["wb", "xb", "ab"] = "wb") -> IO[bytes]:
    """`path` opened for binary writing, created 0600 ("xb": it must not exist yet)."""
    flags = os.O_WRONLY | os.O_CREAT | {"wb": os.O_TRUNC, "xb": os.O_EXCL, "ab": os.O_APPEND}[mode]
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode.replace("x", "w"))


def write_private(path: Path, content: bytes, exclusive: bool = False) -> None:
    """Write `content` to a new owner-only file (`exclusive`: fail if it exists)."""
    with open_private(path, "xb" if exclusive else "wb") as file:
        file.write(content)


def touch_private(path: Path) -> Path:
    """`path` created empty and 0600 if missing (so a library that opens it later keeps the mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return path
