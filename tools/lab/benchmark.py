"""Budget benchmark: execute the notebooks and print a table. A report, not a test.

    python -m tools.lab.benchmark                 # every notebook
    python -m tools.lab.benchmark 03 04 05        # some of them (number or name)
    python -m tools.lab.benchmark --save instructors/benchmark.json

Each notebook runs top to bottom in a fresh kernel. For each, the table gives the
wall time, the slowest cell, the kernel's peak resident memory (and how much of it is
anonymous memory, arrays and tensors, rather than the pages of shared libraries that
every kernel shares; and which cell raised it most, after the imports) and the device
TensorFlow used, and marks what exceeds the lesson's budgets (60 s per cell, 10
minutes for the core lesson, 1 GiB per notebook so that it fits Binder's guaranteed
memory). The executed notebooks are kept in _build/executed/ (the website uses them)
and the figures in _build/benchmark.json.

It also records, per notebook, the numbers its ``lesson-numbers`` cell reports and a
fingerprint of its code: the times the episodes quote are checked against these
saved figures (``<!--bench:KEY-->`` markers, see tests/lessonrun.py), never against
the speed of whatever machine runs the tests. And it records the machine's CPU
features (AVX2, AVX-512, AMX, bfloat16 units) and the precision policy the lesson
chose there, because training speed depends on them more than on the clock rate:
on a CPU without AVX-512 the same notebooks took 2 to 2.4 times as long.

``--memory-limit 1024`` also runs each kernel in a memory cgroup of that size, the way
Binder enforces its limit (tools/lab/memlimit.py; needs root on Linux), and adds a column:
whether the notebook ran, and how many pages it had to read back from disk. Resident
memory counts the pages of TensorFlow's libraries, which the system can drop and read
again; under a hard limit a notebook runs if what it cannot drop fits, but if too little
room is left for the pages it keeps using, it re-reads them all the time and crawls
("thrashing", thousands of pages re-read). It empties the page cache before each
notebook, so that every page the kernel reads counts, as in a fresh Binder session.
Since the limit can slow a notebook down, such a run saves only this column: with
``--save`` it adds it to the saved rows and keeps their times.

``--save`` merges: the notebooks run replace their rows in the file, the others
stay, each row keeping the machine and date it was measured on.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import nbformat

from tools.execute import execute
from tools.facts import (BESTBENCH, CELL_BUDGET_S, CORE, CORE_BUDGET_S, EXECUTED,
                         MEMORY_BUDGET_MB, ROOT, TEST_BUILD, lesson_numbers)
from tools.lab import bestsummary
from tools.lab.machine import describe, machine, stamp
from tools.lab.memlimit import KernelLimit
from tools.notebooks import (LONG_RUN_TAG, TIME_PREFIX, count_typed_lines, episode_fingerprint,
                             tags, write_test_build)
from tools.prose import report as prose_report


def select(names):
    # The test build: the learner notebooks plus the lesson-numbers cell, whose
    # numbers (the times the episodes quote among them) the benchmark records.
    write_test_build()
    all_nbs = sorted(TEST_BUILD.glob("[0-9][0-9]-*.ipynb"))
    if not names:
        return all_nbs
    chosen = [p for p in all_nbs if any(p.stem == n or p.stem.startswith(n) for n in names)]
    if not chosen:
        raise SystemExit(f"no notebook matches {names}")
    return chosen


def timed_cells(run):
    """{NAME_seconds: wall time} of the cells tagged ``time-NAME`` (a fit, say), so that
    the text can quote how long it took without the notebook timing itself. Cells that
    share a tag are added up: a fit split into two cells, to keep each under the cell
    budget, is still quoted as one run."""
    seconds = dict(run.cell_s)
    total = {}
    for i, cell in enumerate(run.nb.cells):
        for t in tags(cell):
            if t.startswith(TIME_PREFIX) and i in seconds:
                key = t[len(TIME_PREFIX):] + "_seconds"
                total[key] = total.get(key, 0.0) + seconds[i]
    return {key: round(value, 2) for key, value in total.items()}


def slowest_within_budget(run):
    """((cell, seconds) of the slowest cell the cell budget applies to, [(cell, seconds)]
    of the cells tagged ``long-run``). A long run is announced in the text with its time
    and reported in its own column, so that it neither hides nor excuses a slow cell."""
    long = {i for i, cell in enumerate(run.nb.cells) if LONG_RUN_TAG in tags(cell)}
    budgeted = [(i, t) for i, t in run.cell_s if i not in long]
    return (max(budgeted, key=lambda c: c[1], default=(None, 0.0)),
            [(i, t) for i, t in run.cell_s if i in long])


def merge(path, result, limit_only=False):
    """Rows of this run replace the same notebooks' rows in the saved file; with
    ``limit_only`` (a run under a memory limit) only their ``memory_limit`` is taken."""
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return result
    if limit_only:
        new = {r["notebook"]: r for r in result["notebooks"]}
        for r in old.get("notebooks", []):
            if r["notebook"] in new:
                r["memory_limit"] = new[r["notebook"]]["memory_limit"]
                r["limit_error"] = new[r["notebook"]].get("limit_error")
        return old
    mine = {r["notebook"] for r in result["notebooks"]}
    rows = [r for r in old.get("notebooks", []) if r["notebook"] not in mine]
    rows += result["notebooks"]
    rows.sort(key=lambda r: r["notebook"])
    return {**result, "notebooks": rows}


def memory_cell(cell_peaks):
    """[cell index, MB] of the cell that raised the peak memory most (the kernel's start
    and imports count for the first code cell); None without measurements."""
    rises, last = [], 0.0
    for i, mb in cell_peaks:
        rises.append([i, round(mb - last, 1)])
        last = max(last, mb)
    return max(rises[1:] or rises, key=lambda r: r[1]) if rises else None


def flag(ok):
    return "" if ok else " !"


def under_limit(lim, error=None):
    """One cell of the table for a run under a memory limit (see tools/lab/memlimit.py)."""
    if "unavailable" in lim:
        return f"not measured: {lim['unavailable']}"
    if lim.get("oom_kills"):
        return "stopped: out of memory"
    faults = lim.get("major_faults")
    pages = f", {faults:,} pages read from disk" if faults is not None else ""
    if lim.get("peak_rss_mb") is not None:
        pages += f", peak {lim['peak_rss_mb']:,.0f} MB resident"
    if error:  # a cell that ran past --timeout: usually re-reading pages all the time
        return f"did not finish ({error.split(':')[0]}){pages}"
    return "ran" + pages


def long_runs(row):
    """The cells of a row tagged ``long-run``, with their times, or '-'."""
    runs = row.get("long_runs") or []
    return ", ".join(f"cell {i}: {t:.1f}" for i, t in runs) or "-"


def table(rows):
    head = ["notebook", "wall (s)", "slowest cell (s)", "peak memory (MB)",
            "of it anonymous (MB)", "cell that raised it most (MB)", "long runs (s)", "device",
            "status"]
    limits = {r["memory_limit"]["limit_mb"] for r in rows if r.get("memory_limit")}
    if limits:
        head.insert(5, f"in a {'/'.join(f'{x:,.0f}' for x in sorted(limits))} MB limit")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        extra = ""
        if limits:
            extra = (under_limit(r["memory_limit"], r.get("limit_error")) if r.get("memory_limit")
                     else "-") + " | "
        lines.append(
            f"| {r['notebook']} | {r['wall_s']:.1f} | "
            f"cell {r['slowest_cell']}: {r['slowest_s']:.1f}{flag(r['slowest_s'] <= CELL_BUDGET_S)} | "
            f"{r['peak_rss_mb']:.0f}{flag(r['peak_rss_mb'] <= MEMORY_BUDGET_MB)} | "
            f"{r.get('peak_anon_mb', float('nan')):.0f} | " + extra
            + (f"cell {r['memory_cell'][0]}: +{r['memory_cell'][1]:.0f}" if r.get("memory_cell")
               else "-") + f" | {long_runs(r)} | {r['device']} | {r['error'] or 'ok'} |")
    return "\n".join(lines)


def print_extras():
    """Figures measured by their own commands, printed here so one report has them all."""
    per_episode, total = count_typed_lines()
    print(f"\nlines learners type in the code-along notebooks of the core "
          f"(python -m tools.notebooks count): {total} "
          f"({', '.join(f'{k[:2]}: {v}' for k, v in per_episode.items())}; goal at most 200); "
          f"{count_typed_lines(faded_in_full=True)[1]} counting the faded examples in full")
    print("\nwhat learners read, per episode (python -m tools.prose):")
    print(prose_report())
    saved = BESTBENCH
    if saved.exists():
        print(f"\nepisode 8's best model against TensorFlow's tutorial recipe, from {saved.name} "
              f"(re-measure: python -m tools.lab.bestbench --save instructors/bestbench.json):")
        print(bestsummary.table(json.loads(saved.read_text())))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    ap.add_argument("--save", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--timeout", type=int, default=900, help="per-cell limit in seconds")
    ap.add_argument("--memory-limit", type=float, metavar="MB",
                    help="also run each kernel under this hard memory limit, as Binder does "
                         f"(e.g. {MEMORY_BUDGET_MB}; Linux, needs root)")
    args = ap.parse_args(argv)

    rows = []
    EXECUTED.mkdir(parents=True, exist_ok=True)
    m = machine()
    today = datetime.date.today().isoformat()
    for path in select(args.notebooks):
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        run = execute(path, cwd=TEST_BUILD, timeout=args.timeout,
                      limit=KernelLimit(args.memory_limit) if args.memory_limit else None)
        (cell, slowest), long_cells = slowest_within_budget(run)
        rows.append({"notebook": path.stem, "wall_s": round(run.wall_s, 2),
                     "slowest_cell": cell, "slowest_s": round(slowest, 2),
                     "peak_rss_mb": round(run.peak_rss_mb, 1),
                     "peak_anon_mb": round(run.peak_anon_mb, 1),
                     "memory_cell": memory_cell(run.cell_peak_mb), "device": run.device,
                     "memory_limit": run.limit,
                     **({"limit_error": run.error} if args.memory_limit else {}),
                     "error": run.error, "date": today, "machine": describe(m),
                     "code_sha256": episode_fingerprint(path.stem),
                     "stamp": stamp([path.stem]),
                     "numbers": {**lesson_numbers(run.nb), **timed_cells(run)},
                     "cells_s": [[i, round(s, 2)] for i, s in run.cell_s],
                     "long_runs": [[i, round(s, 2)] for i, s in long_cells]})
        if run.error is None and not args.memory_limit:
            run.nb.metadata["lesson"]["executed"] = {"by": "tools.lab.benchmark"}
            nbformat.write(run.nb, EXECUTED / path.name)
    print()
    print(table(rows))
    core = [r for r in rows if r["notebook"][:2] in CORE]
    total = sum(r["wall_s"] for r in rows)
    print(f"\nall notebooks above: {total:.0f} s")
    if len(core) == len(CORE):
        core_s = sum(r["wall_s"] for r in core)
        print(f"core lesson (episodes {CORE[0]}-{CORE[-1]}): {core_s:.0f} s of a "
              f"{CORE_BUDGET_S} s budget{flag(core_s <= CORE_BUDGET_S)}")
    over = [r["notebook"] for r in rows if r["slowest_s"] > CELL_BUDGET_S
            or r["peak_rss_mb"] > MEMORY_BUDGET_MB or r["error"]]
    print("budgets: " + ("all met" if not over else "'!' marks a budget exceeded in "
                         + ", ".join(over)))
    print(f"machine: {describe(m)}, TensorFlow {m['tensorflow']}")
    print_extras()
    result = {"date": today, "machine": m,
              "budgets": {"cell_s": CELL_BUDGET_S, "core_s": CORE_BUDGET_S,
                          "memory_mb": MEMORY_BUDGET_MB},
              "notebooks": rows}
    (ROOT / "_build" / "benchmark.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.save:
        merged = merge(args.save, result, limit_only=bool(args.memory_limit))
        Path(args.save).write_text(json.dumps(merged, indent=1) + "\n")
        print(f"saved {args.save}")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
