"""Files written atomically: to a temporary name beside the target, then renamed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: Path, write: Callable[[Path], None], keep_suffix: bool = False) -> None:
    """Call ``write(temporary_path)`` beside ``path``, then rename it into place. With
    ``keep_suffix`` the temporary name ends like ``path`` (for writers that read the format
    from the name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if keep_suffix else ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
