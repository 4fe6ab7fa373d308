"""Small tables of results measured by the lesson's tools, which notebooks read.

Some comparisons need several seeds, and training every seed would make a notebook too
slow; a command (e.g. ``python -m tools.lab.sweep``) measures them once and writes a CSV
to ``cnnlesson/tables/``, with the command, date and machine in its ``#`` comment lines.
The tables are package data: they come with ``pip install cnnlesson`` (Colab's install
cell), so a notebook that reads one runs without a clone of the repository.
"""
from __future__ import annotations

from pathlib import Path

from .data import DataError

TABLES = Path(__file__).resolve().parent / "tables"


def lesson_table(name: str):
    """The CSV table ``name`` (e.g. ``"search_seeds"``) as a DataFrame; its ``#`` lines
    (how it was made) are in ``.attrs["made_by"]``."""
    import pandas as pd
    path = TABLES / f"{name}.csv"
    if path.exists():
        table = pd.read_csv(path, comment="#")
        # (not the "# stamp:" line, which tells the maintainers' tools what it depends on)
        table.attrs["made_by"] = [ln[1:].strip() for ln in path.read_text().splitlines()
                                  if ln.startswith("#") and not ln.startswith("# stamp:")]
        return table
    raise DataError(f"the table {name}.csv is not here (looked in "
                    f"{TABLES}): it comes with the lesson's "
                    "package, in cnnlesson/tables/: reinstall it (pip install --force-reinstall "
                    "cnnlesson) or copy that file there")
