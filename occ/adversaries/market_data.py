"""Reading market data safely: a table of prices or price relatives from a CSV file.

* **Where.** A scenario file's ``path`` must resolve (symbolic links followed) to a file
  inside the scenario file's folder: ``/etc/passwd``, ``../..`` and absolute paths
  elsewhere are refused. A scenario built in Python (no file) takes its path as given.
  ``universal:NAME`` names one of the six data sets shipped by an installed
  ``universal-portfolios`` package (``pip install universal-portfolios``).
* **What.** It must be a regular file (a FIFO, ``/dev/zero`` or a directory is refused
  without being read: it is opened non-blocking and checked with ``fstat`` on the open
  descriptor) of at most :data:`MAX_BYTES`.
* **How.** UTF-8 (a byte-order mark is dropped); a file that is not gets one line naming
  it and the row. Rows are split by :mod:`csv` (quoted fields; a record ends only at
  ``\\n``, ``\\r`` or ``\\r\\n``, never at U+0085 or U+2028, which ``str.splitlines`` would
  break a header at). Blank rows and rows whose first field starts with ``#`` are
  skipped; the first row is a header when any of its fields is not a number; a first
  column that is not numeric (dates) is a label column and dropped. A missing value
  (an empty field, ``NA``, ``NaN``, ``null``) is refused with its row and column.

No error message quotes the file's contents: only its name, row and column numbers.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from occ.errors import ParameterError

MAX_BYTES = 256 * 1024 * 1024
"""The largest data file occ reads (256 MiB)."""

UNIVERSAL_DATASETS = ("nyse_o", "nyse_n", "djia", "tse", "sp500", "msci")
"""The data sets of the ``universal-portfolios`` package (prices, one column per asset)."""

SPACE = " \t\r\n\f\v"
"""What is stripped around a field: ASCII white space only (U+0085 is a column name)."""
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "#n/a"})


@dataclass(frozen=True)
class Table:
    """A numeric table read from a file: ``values`` (rows, columns), the header's column
    names (or ``col1, ...``), the label column (dates) if any, and the file's name."""

    values: np.ndarray
    columns: tuple[str, ...]
    labels: tuple[str, ...] | None
    name: str


def universal_folder() -> Path:
    """The data folder of an installed ``universal-portfolios`` package."""
    import importlib.util

    spec = importlib.util.find_spec("universal")
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError("data", "'universal:NAME' reads the data sets of the "
                             "universal-portfolios package, which is not installed "
                             "(pip install universal-portfolios)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def resolve(path: str, base: str) -> Path:
    """The file ``path`` names, relative to the scenario's folder ``base`` and inside it
    (``base = ""``: a scenario without a file; the path as given)."""
    if not path:
        raise ParameterError("path", "is required: a CSV file of prices or relatives")
    if "\x00" in path:
        raise ParameterError("path", "must not contain a NUL character")
    if not base:
        return Path(path)
    folder = Path(base).resolve()
    candidate = Path(path) if Path(path).is_absolute() else folder / path
    resolved = candidate.resolve()
    if not resolved.is_relative_to(folder):
        raise ParameterError("path", f"must name a file inside the scenario's folder "
                             f"{folder}, got {path!r}")
    return resolved


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The contents of a regular file of at most ``limit`` bytes (opened non-blocking, so
    that a FIFO never hangs; checked on the open descriptor; default :data:`MAX_BYTES`)."""
    limit = MAX_BYTES if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ParameterError("path", f"cannot read {path} ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ParameterError("path", f"{path} is not a regular file")
        if info.st_size > limit:
            raise ParameterError("path", f"{path} has {info.st_size} bytes; the limit is "
                                 f"{limit} ({limit // 2**20} MiB)")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ParameterError("path", f"{path} grew beyond the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ParameterError("path", f"cannot read {path} ({exc.strerror})") from None
    finally:
        os.close(fd)


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text (BOM dropped), or one line naming the file and the row of the first
    byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw.count(b"\n", 0, exc.start) + 1
        raise ParameterError("path", f"{name}: row {row} is not UTF-8 text (byte "
                             f"{exc.start + 1}); save the file as UTF-8") from None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse(text: str, name: str) -> Table:
    """The numeric table of a CSV text (see the module docstring for the rules)."""
    text = text.removeprefix("\ufeff")
    try:
        records = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as exc:
        raise ParameterError("path", f"{name}: not a valid CSV file ({exc})") from None
    rows = [(number, [field.strip(SPACE) for field in record]) for number, record in records
            if record and any(f.strip(SPACE) for f in record)
            and not record[0].strip(SPACE).startswith("#")]
    if not rows:
        raise ParameterError("path", f"{name}: has no rows of numbers")
    columns: tuple[str, ...] | None = None
    first_number, first = rows[0]
    if any(_number(f) is None and f.lower() not in MISSING for f in first[1:]) or (
            len(first) == 1 and _number(first[0]) is None):
        columns = tuple(first)
        rows = rows[1:]
    if not rows:
        raise ParameterError("path", f"{name}: has a header but no rows of numbers")
    labelled = _number(rows[0][1][0]) is None and rows[0][1][0].lower() not in MISSING
    width = len(rows[0][1])
    if columns is not None and len(columns) != width:
        raise ParameterError("path", f"{name}: the header (row {first_number}) has "
                             f"{len(columns)} fields, row {rows[0][0]} has {width}")
    values = np.empty((len(rows), width - labelled))
    labels = []
    for i, (number, fields) in enumerate(rows):
        if len(fields) != width:
            raise ParameterError("path", f"{name}: row {number} has {len(fields)} fields, "
                                 f"expected {width}")
        if labelled:
            labels.append(fields[0])
        for j, field in enumerate(fields[labelled:], start=1 + labelled):
            x = _number(field)
            if field.lower() in MISSING:
                raise ParameterError("path", f"{name}: row {number}, column {j}: a missing "
                                     "value (fill or drop the row)")
            if x is None:
                raise ParameterError("path", f"{name}: row {number}, column {j}: not a number")
            if not math.isfinite(x):
                raise ParameterError("path", f"{name}: row {number}, column {j}: not finite")
            values[i, j - 1 - labelled] = x
    if columns is None:
        columns = tuple(f"col{j}" for j in range(1, width + 1))
    if labelled:
        columns = columns[1:]
    return Table(values, columns, tuple(labels) if labelled else None, name)


def read_table(path: str, base: str = "") -> Table:
    """Read ``path`` (or ``universal:NAME``) safely into a :class:`Table`."""
    if path.startswith("universal:"):
        dataset = path.removeprefix("universal:")
        if dataset not in UNIVERSAL_DATASETS:
            raise ParameterError("path", f"unknown universal-portfolios data set "
                                 f"{dataset!r}; allowed: {', '.join(UNIVERSAL_DATASETS)}")
        file = universal_folder() / f"{dataset}.csv"
        shown = path
    else:
        file = resolve(path, base)
        shown = str(path)
    return parse(decode(read_bytes(file), shown), shown)
