"""Reading a user's text file (a scenario, a sweep, a baseline) as UTF-8, with one clear
line when it cannot be read: missing, a folder, unreadable, too large or not UTF-8."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from occ.errors import ScenarioError

MAX_TEXT_BYTES = 16 * 2**20
"""A configuration file larger than this (16 MiB) is refused before it is read."""


def read_text(path: Path, shown: str, what: str = "file") -> str:
    """The file's text; :class:`~occ.errors.ScenarioError` naming ``shown`` otherwise.

    Only regular files are read (not a FIFO or a device, which could block or never end),
    at most :data:`MAX_TEXT_BYTES`, and the text must be UTF-8 (the error gives the offset
    of the first bad byte)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ScenarioError(f"{shown}: cannot read the {what} ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ScenarioError(f"{shown}: cannot read the {what} ({kind})")
    if info.st_size > MAX_TEXT_BYTES:
        raise ScenarioError(f"{shown}: the {what} is {info.st_size} bytes; at most "
                            f"{MAX_TEXT_BYTES} are read")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{shown}: cannot read the {what} ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{shown}: the {what} is not UTF-8 text (byte "
                            f"0x{data[exc.start]:02x} at offset {exc.start})") from None
