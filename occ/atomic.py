"""Files written atomically: to a temporary name beside the target, then renamed, with the
permissions a plain ``open`` would give (0666 less the umask). Temporary names carry
``.~<host>-<pid>~`` so that a later run can remove those of a process that died
(:func:`occ.results.clean_stale`)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "current_umask", "owner_tag"]


def current_umask() -> int:
    """The process's umask (read from /proc where it exists: no change, thread-safe)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def owner_tag() -> str:
    """``<host>-<pid>``: who wrote a temporary file or staging folder (so that a later run
    can tell one left by a dead process from one still being written)."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


def atomic_write(path: Path, write: Callable[[Path], None], keep_suffix: bool = False) -> None:
    """Call ``write(temporary_path)`` beside ``path``, then rename it into place. With
    ``keep_suffix`` the temporary name ends like ``path`` (for writers that read the format
    from the name, as matplotlib does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = (path.suffix if keep_suffix else "") + ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.~{owner_tag()}~", suffix=suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
