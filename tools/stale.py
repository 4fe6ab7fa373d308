"""Which saved measurements no longer describe the lesson, and why. Runs nothing heavy.

    python -m tools.stale            # = python tools/lesson.py stale: a table, in seconds
    python -m tools.stale --strict   # exit 1 when something is stale

The lab (``tools/lab``) saves its measurements with a stamp: the code fingerprint of
each episode it ran (``tools.facts.code_fingerprint``), the TensorFlow and Keras
versions, and the machine's class. A measurement is **stale** when an episode's code
changed since, or when the pinned TensorFlow or Keras (requirements.txt) is not the one
it ran with; this command says which, what re-measures it and about how long that took
last time. A measurement made on another class of machine than the reference (2 cores,
AVX2 only) is not stale, but the table says so: times differ by up to two-fold between
classes.

A stale measurement never fails a contributor's test run: the numbers the text quotes
from it stay as they are until someone re-measures (``tools/quotes.py`` then writes the
new values into every page). CI prints this table.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools.facts import BENCHMARK, BESTBENCH, ROOT, TABLES
from tools.notebooks import cells_fingerprint, episode_fingerprint, episode_sources

REQUIREMENTS = ROOT / "requirements.txt"
STAMP_LINE = "# stamp: "  # how a CSV table of the lab carries its stamp


def machine_class(cores, features, cap=None) -> str:
    """A short name for what decides a CPU's training speed: its cores and its widest
    vector units, as oneDNN may use them (``cap``: ONEDNN_MAX_CPU_ISA)."""
    wide = [f for f in features if f.startswith(("AVX-512", "AMX"))]
    if not features:
        isa = "CPU features unknown"
    elif not wide:
        isa = "AVX2 only" if "AVX2" in features else "no AVX2"
    else:
        isa = "AVX-512" + (" BF16" if {"AVX-512 BF16", "AMX BF16"} & set(features) else "")
        if cap:
            isa += f", capped at {cap}"
    return f"{cores} cores, {isa}"


REFERENCE_CLASS = machine_class(2, ["AVX2"])


def pinned_versions(path=REQUIREMENTS) -> dict:
    """{'tensorflow': '2.21.0', 'keras': '3.15.1'} as requirements.txt pins them."""
    out = {}
    for line in Path(path).read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and name.strip().lower() in ("tensorflow", "keras"):
            out[name.strip().lower()] = version.strip()
    return out


@dataclass
class Measurement:
    what: str            # e.g. "benchmark of 04-compile-and-fit"
    where: str           # the file that holds it
    stamp: dict | None
    redo: str            # the command that measures it again
    seconds: float | None = None  # how long that took last time
    reasons: list = field(default_factory=list)
    note: str = ""

    @property
    def stale(self):
        return bool(self.reasons)


def judge(m: Measurement, fingerprints: dict, pins: dict) -> Measurement:
    """Fill in why ``m`` is stale (if it is) and a note on its machine."""
    m.reasons, m.note = [], ""
    if not m.stamp:
        m.reasons.append("saved without a stamp")
        return m
    for key, fp in (m.stamp.get("code") or {}).items():
        stem, _, cells = key.partition("#")
        current = (cells_fingerprint(stem, cells.split(",")) if cells and fingerprints.get(stem)
                   else fingerprints.get(stem))
        if fingerprints.get(stem) is None:
            m.reasons.append(f"episode {stem} is gone")
        elif current is None:
            m.reasons.append(f"{stem} no longer has the cells tagged reuse-{cells}")
        elif fp != current:
            m.reasons.append(f"the code of {stem} changed" if not cells
                             else f"the cells {cells} of {stem} changed")
    for pkg in ("tensorflow", "keras"):
        if pins.get(pkg) and m.stamp.get(pkg) != pins[pkg]:
            m.reasons.append(f"{pkg} {m.stamp.get(pkg)}, pinned {pins[pkg]}")
    cls = m.stamp.get("machine_class")
    if cls != REFERENCE_CLASS:
        m.note = f"measured on {cls}; the reference is {REFERENCE_CLASS}"
    return m


def read_table_stamp(path: Path):
    """(stamp or None, the last command line) of a lab CSV table."""
    stamp, command = None, None
    for line in path.read_text().splitlines():
        if line.startswith(STAMP_LINE):
            stamp = json.loads(line[len(STAMP_LINE):])
        elif line.startswith("# python -m "):
            command = line[2:].split(" | ")[0]
    return stamp, command


def benchmark_command(stem):
    """The command that measures an episode's benchmark row (for a stale or a missing one)."""
    return (f"python -m tools.lab.benchmark {stem[:2]} --save instructors/benchmark.json"
            " (then again with --memory-limit 1024, as root)")


def measurements() -> list[Measurement]:
    """Every saved measurement of the lab, with its stamp (not yet judged)."""
    out = []
    if BENCHMARK.exists():
        for row in json.loads(BENCHMARK.read_text()).get("notebooks", []):
            name = row["notebook"]
            out.append(Measurement(
                f"benchmark of {name}", BENCHMARK.name, row.get("stamp"),
                benchmark_command(name),
                row.get("wall_s") and 2 * row["wall_s"]))
    if BESTBENCH.exists():
        for name, row in json.loads(BESTBENCH.read_text()).get("rows", {}).items():
            runs = [r for part in ("tutorial", "best") for r in row.get(part, {}).get("runs", [])]
            out.append(Measurement(
                f"best model against the tutorial ({name})", BESTBENCH.name, row.get("stamp"),
                f'python -m tools.lab.bestbench --rows "{name}" --save instructors/bestbench.json',
                sum(r["seconds"] for r in runs) or None))
    for path in sorted(TABLES.glob("*.csv")):
        stamp, command = read_table_stamp(path)
        # (tables made before the lab had its own folder name tools.sweep, tools.seeds)
        command = re.sub(r"-m tools\.(?!lab\.)", "-m tools.lab.", command or "")
        out.append(Measurement(f"seed table {path.stem}", f"cnnlesson/tables/{path.name}", stamp,
                               command or "(its command is in the file's # lines)",
                               (stamp or {}).get("seconds")))
    return out


def missing(saved=None) -> list[Measurement]:
    """An episode that the benchmark has no row for (a new one, until the lab measures it),
    as a stale measurement: listed with the command that measures it. ``saved``: the
    measurements already read, so that the file is not read twice."""
    measured = {m.what for m in (measurements() if saved is None else saved)}
    return [Measurement(f"benchmark of {p.stem}", BENCHMARK.name, None,
                        benchmark_command(p.stem), reasons=["not measured yet"])
            for p in episode_sources() if f"benchmark of {p.stem}" not in measured]


def report(strict=False, out=sys.stdout) -> int:
    fingerprints = {p.stem: episode_fingerprint(p.stem) for p in episode_sources()}
    pins = pinned_versions()
    saved = measurements()
    found = [judge(m, fingerprints, pins) for m in saved] + missing(saved)
    stale = [m for m in found if m.stale]
    print(f"{len(found)} saved measurements, {len(stale)} stale "
          f"(pinned: TensorFlow {pins.get('tensorflow')}, Keras {pins.get('keras')}; "
          f"reference machine: {REFERENCE_CLASS})", file=out)
    for m in found:
        mark = "STALE" if m.stale else "ok   "
        line = f"{mark} {m.what} ({m.where})"
        if m.stale:
            line += ": " + "; ".join(m.reasons)
        if m.note:
            line += f" [{m.note}]"
        print(line, file=out)
    if stale:
        total = sum(m.seconds or 0 for m in stale)
        print("\nTo re-measure (each took about this long last time, on its machine):", file=out)
        for m in stale:
            took = ("time not recorded" if not m.seconds else f"{m.seconds:.0f} s"
                    if m.seconds < 90 else f"{m.seconds / 60:.0f} min")
            print(f"  {m.redo}   # {took}", file=out)
        unknown = sum(1 for m in stale if not m.seconds)
        print(f"about {total / 60:.0f} minutes in all"
              + (f", plus {unknown} whose time was not recorded" if unknown else "")
              + "; then `python tools/lesson.py quotes` writes the new numbers into every "
              "page that quotes them.", file=out)
    return 1 if (strict and stale) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strict", action="store_true", help="exit 1 when something is stale")
    args = ap.parse_args(argv)
    return report(strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
