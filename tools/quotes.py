"""Numbers measured by the lab, written into the pages that quote them: one mechanism.

    python -m tools.quotes           # list every quoted lab number that differs from its measurement
    python -m tools.quotes --write   # = python tools/lesson.py quotes: write them in

A page quotes a measurement by writing the number followed directly by a marker that
names it, the way episodes mark the numbers of their own runs::

    a notebook's peak resident memory is at most 974<!--lab:bench.00-05.max.peak_rss_mb--> MB
    the fit took about 93<!--lab:bench.04.fit_seconds--> seconds

The marker is invisible in Jupyter, on GitHub and on the website. ``--write`` replaces
each number with the current value, keeping the form the author chose (as many
decimals as written, a thousands separator if there was one, a ``%`` for a fraction
shown as a percentage), so a re-measurement updates every page at once, and rewording
the sentence around a number never matters. ``tests/test_quotes.py`` fails when a page
quotes a value other than the saved one (the fix is ``--write``), never because a
measurement is out of date: that is ``python -m tools.stale``'s report.

Names (``NN`` is an episode's number):

* ``bench.NN.KEY``: the benchmark's row of episode NN (``instructors/benchmark.json``):
  a field of the row (``wall_s``, ``slowest_s``, ``peak_rss_mb``, ``peak_anon_mb``),
  ``limit.KEY`` of its run under the memory limit, or a number its ``lesson-numbers``
  cell reported (``fit_seconds``);
* ``bench.NN-MM.AGG.KEY`` and ``bench.all.AGG.KEY``, with AGG ``max``, ``min`` or
  ``sum``: over the rows of episodes NN to MM (``00-05``: what a workshop runs) or
  over all of them;
* ``best.ROW.KEY`` and ``best.ROW.variants.VARIANT.KEY``: the best model against
  TensorFlow's tutorial recipe (``instructors/bestbench.json``), as the lab summarised
  its runs in the file's ``quoted`` part (ROW ``avx2`` or ``as-is``; keys such as
  ``ratio``, ``ratio_sd``, ``test_acc``, ``flip_gain``; see
  ``tools.lab.bestbench.quotable``).

Standard library only: the quick check runs it without TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from tools.facts import BENCHMARK, BESTBENCH, ROOT

# the pages that may quote measurements
PAGES = ("README.md", "CONTRIBUTING.md", "episodes/*.md", "instructors/*.md", "learners/*.md")
NUMBER = r"(?P<num>-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?)(?P<pct>%)?"
QUOTE = re.compile(NUMBER + r"<!--lab:(?P<name>[\w.\-]+)-->")
AGGREGATES = {"max": max, "min": min, "sum": sum}


class UnknownName(KeyError):
    """A marker names no saved measurement."""


def _load(path: Path):
    return json.loads(path.read_text()) if path.exists() else {}


def _row_value(row: dict, key: str):
    if key.startswith("limit."):
        return (row.get("memory_limit") or {}).get(key[len("limit."):])
    if key in row and isinstance(row[key], (int, float)):
        return row[key]
    return (row.get("numbers") or {}).get(key)


def value(name: str, bench=None, best=None):
    """The measured value a marker's ``name`` stands for (see the module docstring)."""
    parts = name.split(".")
    if parts[0] == "best":
        found = (_load(BESTBENCH) if best is None else best).get("quoted", {})
        for part in parts[1:]:
            found = found.get(part) if isinstance(found, dict) else None
        if isinstance(found, (int, float)):
            return found
        raise UnknownName(f"no saved measurement is called {name!r} (see tools/quotes.py)")
    bench = _load(BENCHMARK) if bench is None else bench
    if parts[0] == "bench" and len(parts) >= 3:
        rows = bench.get("notebooks", [])
        span = re.fullmatch(r"(\d\d)-(\d\d)|all", parts[1])
        if span and len(parts) >= 4 and parts[2] in AGGREGATES:
            key = ".".join(parts[3:])
            chosen = [r for r in rows
                      if span[0] == "all" or span[1] <= r["notebook"][:2] <= span[2]]
            values = [_row_value(r, key) for r in chosen]
            if chosen and None not in values:
                return AGGREGATES[parts[2]](values)
        else:
            row = next((r for r in rows if r["notebook"][:2] == parts[1]), None)
            found = _row_value(row, ".".join(parts[2:])) if row else None
            if found is not None:
                return found
    raise UnknownName(f"no saved measurement is called {name!r} (see tools/quotes.py)")


def formatted(measured: float, written: str) -> str:
    """``measured`` written the way ``written`` was: its decimals, its thousands
    separator, its percent sign."""
    pct = written.endswith("%")
    number = written.rstrip("%")
    decimals = len(number.split(".")[1]) if "." in number else 0
    text = f"{measured * 100 if pct else measured:{',' if ',' in number else ''}.{decimals}f}"
    return text + ("%" if pct else "")


def pages(root=ROOT):
    return sorted({p for pattern in PAGES for p in root.glob(pattern)})


def rewrite(text: str, bench=None, best=None):
    """(new text, [(old, new, name)] of the numbers that changed)."""
    changes = []

    def sub(m):
        written = m["num"] + (m["pct"] or "")
        new = formatted(value(m["name"], bench, best), written)
        if new != written:
            changes.append((written, new, m["name"]))
        return f"{new}<!--lab:{m['name']}-->"
    return QUOTE.sub(sub, text), changes


def check(write=False, root=ROOT, log=print):
    """[(page, line, old, new, name)] of quoted numbers that differ from the saved
    measurements (all written in with ``write``); unknown names raise UnknownName."""
    bench, best = _load(BENCHMARK), _load(BESTBENCH)
    found = []
    for page in pages(root):
        text = page.read_text()
        if "<!--lab:" not in text:
            continue
        new, changes = rewrite(text, bench, best)
        for old, value_, name in changes:
            line = next(i for i, ln in enumerate(text.splitlines(), 1)
                        if f"{old}<!--lab:{name}-->" in ln)
            found.append((page.relative_to(root), line, old, value_, name))
        if write and changes:
            page.write_text(new)
            log(f"wrote {len(changes)} number(s) into {page.relative_to(root)}")
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write the saved values into the pages")
    args = ap.parse_args(argv)
    try:
        found = check(write=args.write)
    except UnknownName as err:
        print(err.args[0], file=sys.stderr)
        return 2
    for page, line, old, new, name in found:
        print(f"{page}:{line}: quotes {old}, the saved measurement {name} is {new}")
    if found and not args.write:
        print("write them in with: python tools/lesson.py quotes")
        return 1
    if not found:
        print("every quoted lab number is the saved measurement")
    return 0


if __name__ == "__main__":
    sys.exit(main())
