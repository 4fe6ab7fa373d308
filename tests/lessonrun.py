"""Access to the executed notebooks and the numbers their text quotes.

``executed(name)`` returns the notebook as the current run executed it: the copy
that nbval saved in _build/executed/ during this pytest session, or, when a test
is run on its own, a fresh execution (the run is real either way, never a copy of
old numbers).

Prose claims: in an episode's Markdown, a number the text quotes is followed by an
HTML comment naming the measured value it reports, invisible in the notebook and on
the website::

    reaches a validation accuracy of 0.62<!--best_val_acc±0.03--> after 15 epochs
    the model has 122,570<!--n_params--> parameters                (exact)
    one epoch takes about 4 s<!--epoch_seconds±60%-->              (relative)
    62%<!--best_val_acc±3--> of the images                          (percent of a fraction)

The name is a key of the dict shown by the episode's ``lesson-numbers`` cell
(``cnnlesson.quoted_numbers(...)``). ``±x`` is an absolute tolerance in the quoted
units, ``±x%`` a relative one; no tolerance means exact. A quoted percentage is
compared with 100 times the measured fraction.

Durations are never checked against the current run, whose speed depends on the
machine that runs the tests. A time the text quotes is either

* a figure of the benchmark table, marked ``bench:``, e.g.
  ``about 40<!--bench:fit_seconds±30%--> seconds on the reference machine``: it is
  compared with the same key in ``instructors/benchmark.json`` (written by
  ``python -m tools.benchmark --save instructors/benchmark.json``, which records the
  machine and its CPU features), and fails when the notebook's code changed since that
  benchmark ran; or
* a ratio measured in the same run (a key ending in ``_ratio``), which holds on slow
  and fast machines alike.

A plain marker whose key names a duration (``*_seconds``, ``*_s``, ``*time*``,
``*minutes``) is refused by ``tests/test_prose_claims.py``.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conftest import FAILED_NOTEBOOKS  # noqa: E402
from tools.execute import ensure_executed  # noqa: E402
from tools.notebooks import NUMBERS_TAG, episode_sources  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"

NUMBER = r"(?P<num>[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?)\s?(?P<pct>%)?"
CLAIM = re.compile(NUMBER + r"\s*<!--\s*(?P<bench>bench:)?(?P<key>[A-Za-z_]\w*)\s*"
                   r"(?:±\s*(?P<tol>\d+(?:\.\d+)?)\s*(?P<rel>%)?)?\s*-->")


def episode_names():
    return [p.stem for p in episode_sources()]


def executed(name):
    """The executed notebook ``name`` (e.g. '04-compile-and-fit')."""
    import pytest
    if name in FAILED_NOTEBOOKS:
        pytest.fail(f"notebooks/{name}.ipynb failed under nbval in this run: see above")
    try:
        return ensure_executed([name], by="tests/lessonrun.py")[name]
    except SystemExit as failure:
        pytest.fail(str(failure))


def numbers(name):
    """The dict of measured numbers shown by the notebook's ``lesson-numbers`` cell."""
    nb = executed(name)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and NUMBERS_TAG in cell.metadata.get("tags", []):
            for out in cell.outputs:
                data = out.get("data", {})
                if "application/json" in data:
                    found.update(data["application/json"])
    if not found:
        raise AssertionError(f"{name}: no output with numbers from a cell tagged {NUMBERS_TAG}")
    return found


@dataclass
class Claim:
    episode: str
    line: int
    key: str
    quoted: float
    percent: bool
    tol: float
    relative: bool
    text: str
    bench: bool = False  # compared with instructors/benchmark.json, not with this run

    def holds(self, measured) -> bool:
        value = measured * 100 if self.percent else measured
        tol = self.tol * abs(self.quoted) / 100 if self.relative else self.tol
        return abs(value - self.quoted) <= tol + 1e-9


def prose(md_text):
    """The Markdown outside code cells and fenced blocks, with line numbers."""
    fence = None
    for i, line in enumerate(md_text.splitlines(), 1):
        stripped = line.lstrip()
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if m:
            if fence is None:
                fence = m.group(1)
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is None:
            yield i, line


def claims(name):
    text = (ROOT / "episodes" / f"{name}.md").read_text()
    out = []
    for i, line in prose(text):
        for m in CLAIM.finditer(line):
            if m["key"] == "fixed":  # a constant no run measures, see the docstring
                continue
            out.append(Claim(name, i, m["key"], float(m["num"].replace(",", "")),
                             bool(m["pct"]), float(m["tol"] or 0), bool(m["rel"]),
                             line.strip(), bench=bool(m["bench"])))
    return out


BENCHMARK = ROOT / "instructors" / "benchmark.json"
DURATION_KEY = re.compile(r"(seconds|minutes|time|_s$)", re.IGNORECASE)


def code_sha256(nb):
    """A fingerprint of a notebook's code cells: timings belong to this code."""
    import hashlib
    code = "\n\0".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()


def benchmark_numbers(name):
    """The lesson numbers and code fingerprint the saved benchmark recorded for ``name``."""
    import json
    if not BENCHMARK.exists():
        return None
    for row in json.loads(BENCHMARK.read_text()).get("notebooks", []):
        if row.get("notebook") == name:
            return row
    return None
