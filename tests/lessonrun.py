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

* a figure of the lab's benchmark, ``about 93<!--lab:bench.04.fit_seconds--> seconds``,
  which ``python tools/lesson.py quotes`` writes from ``instructors/benchmark.json``
  (see tools/quotes.py; ``python tools/lesson.py stale`` says when it is out of date); or
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
from tools.executed import ensure_executed  # noqa: E402
from tools.facts import NUMBERS_TAG, lesson_numbers  # noqa: E402
from tools.notebooks import episode_sources  # noqa: E402

NUMBER = r"(?P<num>[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?)\s?(?P<pct>%)?"
CLAIM = re.compile(NUMBER + r"\s*<!--\s*(?P<key>[A-Za-z_]\w*)\s*"
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
    found = lesson_numbers(executed(name))
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
                             line.strip()))
    return out


DURATION_KEY = re.compile(r"(seconds|minutes|time|_s$)", re.IGNORECASE)
