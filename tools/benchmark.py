"""Budget benchmark: execute the notebooks and print a table. A report, not a test.

    python -m tools.benchmark                 # every notebook
    python -m tools.benchmark 03 04 05        # some of them (number or name)
    python -m tools.benchmark --save instructors/benchmark.json

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
Binder enforces its limit (tools/memlimit.py; needs root on Linux), and adds a column:
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
import os
import platform
import sys
from pathlib import Path

import nbformat

from tools.execute import EXECUTED, execute
from tools.notebooks import (EPISODES, NUMBERS_TAG, ROOT, TEST_BUILD, from_source,
                             write_test_build)

CELL_BUDGET_S = 60
CORE_BUDGET_S = 600
MEMORY_BUDGET_MB = 1024  # Binder guarantees 1 GB per user
CORE = ("01", "02", "03", "04", "05")


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


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import importlib.metadata as md

    from cnnlesson.hardware import cpu_features, mixed_precision_policy
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": md.version("tensorflow"), "platform": platform.platform(),
            "cpu_features": cpu_features(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or None,
            "onednn_isa": onednn_isa(),
            "precision": mixed_precision_policy(gpu_capability=None),
            # set by importing cnnlesson (above) unless it was set: what the kernels inherit
            "tf_cpu_allocator_use_bfc": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC")}


def onednn_isa():
    """The instruction set oneDNN (TensorFlow's CPU kernels) really dispatches to here,
    e.g. 'Intel AVX2' or 'Intel AVX-512 with Intel DL Boost and bfloat16 support', read
    from its verbose log in a child process: with ONEDNN_MAX_CPU_ISA set it shows the
    cap in effect, and on a CPU without AVX-512 that the cap changes nothing."""
    import subprocess
    code = ("import numpy as np, keras\n"
            "m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])\n"
            "m.predict(np.zeros((2, 8, 8, 3), 'float32'), verbose=0)\n")
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if ",info,cpu,isa:" in line:
            return line.split("isa:", 1)[1].strip()
    return None


def describe(m):
    """One line for a machine: '2 cores, AMD EPYC (AVX2; float32)'."""
    feats = ", ".join(m.get("cpu_features") or []) or "CPU features unknown"
    if m.get("onednn_max_cpu_isa"):
        feats += f", capped at {m['onednn_max_cpu_isa']}"
    if m.get("onednn_isa"):
        feats += f"; oneDNN uses {m['onednn_isa']}"
    return f"{m['cores']} cores, {m['cpu']} ({feats}; {m.get('precision', '?')})"


def lesson_numbers(nb):
    """The dict shown by the notebook's lesson-numbers cell, or {}."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and NUMBERS_TAG in cell.metadata.get("tags", []):
            for out in cell.get("outputs", []):
                found.update(out.get("data", {}).get("application/json", {}))
    return found


def code_fingerprint(stem):
    """sha256 of the episode's code cells (tests/lessonrun.py computes the same)."""
    import hashlib
    src = EPISODES / f"{stem}.md"
    if not src.exists():
        return None
    code = "\n\0".join(c.source for c in from_source(src).cells if c.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()


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
    """One cell of the table for a run under a memory limit (see tools/memlimit.py)."""
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


def table(rows):
    head = ["notebook", "wall (s)", "slowest cell (s)", "peak memory (MB)",
            "of it anonymous (MB)", "cell that raised it most (MB)", "device", "status"]
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
               else "-") + f" | {r['device']} | {r['error'] or 'ok'} |")
    return "\n".join(lines)


def print_extras():
    """Two figures measured by their own commands, printed here so one table has them all."""
    from tools.notebooks import count_typed_lines
    per_episode, total = count_typed_lines()
    print(f"\nlines learners type in the code-along notebooks of the core "
          f"(python -m tools.notebooks count): {total} "
          f"({', '.join(f'{k[:2]}: {v}' for k, v in per_episode.items())}; goal at most 200); "
          f"{count_typed_lines(faded_in_full=True)[1]} counting the faded examples in full")
    saved = ROOT / "instructors" / "bestbench.json"
    if saved.exists():
        from tools import bestbench
        print(f"\nepisode 7's best model against TensorFlow's tutorial recipe, from {saved.name} "
              f"(re-measure: python -m tools.bestbench --save instructors/bestbench.json):")
        print(bestbench.table(json.loads(saved.read_text())))


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
                      memory_limit_mb=args.memory_limit)
        cell, slowest = run.slowest
        rows.append({"notebook": path.stem, "wall_s": round(run.wall_s, 2),
                     "slowest_cell": cell, "slowest_s": round(slowest, 2),
                     "peak_rss_mb": round(run.peak_rss_mb, 1),
                     "peak_anon_mb": round(run.peak_anon_mb, 1),
                     "memory_cell": memory_cell(run.cell_peak_mb), "device": run.device,
                     "memory_limit": run.limit,
                     **({"limit_error": run.error} if args.memory_limit else {}),
                     "error": run.error, "date": today, "machine": describe(m),
                     "code_sha256": code_fingerprint(path.stem),
                     "numbers": lesson_numbers(run.nb),
                     "cells_s": [[i, round(s, 2)] for i, s in run.cell_s]})
        if run.error is None and not args.memory_limit:
            run.nb.metadata["lesson"]["executed"] = {"by": "tools.benchmark"}
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
