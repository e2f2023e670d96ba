"""Writing a figure: its log axes finished with plain-text labels and major ticks only,
laid out and saved in the format its file name ends with (every figure of occ: runs,
sweeps, portfolios, searches, the report's inline ones). matplotlib is imported by the
caller (which chooses the backend)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def save_figure(fig: Any, path: Any, layout: bool = True) -> None:
    """Finish the log axes (:func:`finish_log_axes`), lay out (unless the figure laid
    itself out), write in the format the name ends with (png, svg or pdf; png otherwise)
    and close."""
    finish_log_axes(fig)  # before the layout, which measures the labels
    if layout:
        fig.tight_layout()
    formats = [s.lstrip(".").lower() for s in Path(path).suffixes]  # a temporary name
    fmt = next((f for f in reversed(formats) if f in ("png", "svg", "pdf")), "png")  # ends .tmp
    fig.savefig(path, dpi=110, format=fmt, **png_options(fmt))
    import matplotlib.pyplot as plt

    plt.close(fig)


PNG_COMPRESSION = 1
"""zlib level of every PNG occ writes. matplotlib's default, 6, took 0.25 s more of the
default scenario's two figures (0.57 + 0.33 s against 0.42 + 0.23 s warm) for files 12%
smaller; level 1 is still lossless."""


def png_options(fmt: str) -> dict[str, Any]:
    """``savefig`` keywords of a format: PNG at :data:`PNG_COMPRESSION`, else none."""
    return {"pil_kwargs": {"compress_level": PNG_COMPRESSION}} if fmt == "png" else {}


SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                             "\u2077\u2078\u2079")


def log_tick_label(value: float, _position: Any = None) -> str:
    """A log axis' tick label as plain text: ``10\u207b\u00b2`` at a power of ten, else
    ``%g`` (matplotlib's default labels are mathtext, whose parser took 0.4 s of the
    default scenario's two figures; the text looks the same)."""
    if not np.isfinite(value) or value <= 0:
        return ""
    exponent = round(math.log10(value))
    if math.isclose(value, 10.0 ** exponent, rel_tol=1e-9):
        return "1" if exponent == 0 else "10" + str(exponent).translate(SUPERSCRIPTS)
    return f"{value:g}"


def finish_log_axes(fig: Any) -> None:
    """Every log axis with major ticks only, labelled by :func:`log_tick_label` (grid lines
    at the decades stay). Every tick is a handful of artists, and the minor ones of a log
    axis were half of the time drawing a small run's figures (1.8 s against 0.9 s)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() in ("log", "symlog"):
                axis.set_minor_locator(NullLocator())
            if axis.get_scale() == "log":
                axis.set_major_formatter(FuncFormatter(log_tick_label))
