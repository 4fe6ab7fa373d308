"""Budget benchmark: execute the notebooks and print a table. A report, not a test.

    python -m tools.benchmark                 # every notebook
    python -m tools.benchmark 03 04 05        # some of them (number or name)
    python -m tools.benchmark --save instructors/benchmark.json

Each notebook runs top to bottom in a fresh kernel. For each, the table gives the
wall time, the slowest cell, the kernel's peak resident memory and the device
TensorFlow used, and marks what exceeds the lesson's budgets (60 s per cell, 10
minutes for the core lesson, 2 GB per notebook). The executed notebooks are kept in
_build/executed/ (the website uses them) and the figures in _build/benchmark.json.
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
from tools.notebooks import NOTEBOOKS, ROOT

CELL_BUDGET_S = 60
CORE_BUDGET_S = 600
MEMORY_BUDGET_MB = 2048
CORE = ("01", "02", "03", "04", "05")


def select(names):
    all_nbs = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
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
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": md.version("tensorflow"), "platform": platform.platform()}


def flag(ok):
    return "" if ok else " !"


def table(rows):
    head = ["notebook", "wall (s)", "slowest cell (s)", "peak memory (MB)", "device", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            f"| {r['notebook']} | {r['wall_s']:.1f} | "
            f"cell {r['slowest_cell']}: {r['slowest_s']:.1f}{flag(r['slowest_s'] <= CELL_BUDGET_S)} | "
            f"{r['peak_rss_mb']:.0f}{flag(r['peak_rss_mb'] <= MEMORY_BUDGET_MB)} | "
            f"{r['device']} | {r['error'] or 'ok'} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    ap.add_argument("--save", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--timeout", type=int, default=900, help="per-cell limit in seconds")
    args = ap.parse_args(argv)

    rows = []
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for path in select(args.notebooks):
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        run = execute(path, cwd=NOTEBOOKS, timeout=args.timeout)
        cell, slowest = run.slowest
        rows.append({"notebook": path.stem, "wall_s": round(run.wall_s, 2),
                     "slowest_cell": cell, "slowest_s": round(slowest, 2),
                     "peak_rss_mb": round(run.peak_rss_mb, 1), "device": run.device,
                     "error": run.error,
                     "cells_s": [[i, round(s, 2)] for i, s in run.cell_s]})
        if run.error is None:
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
    m = machine()
    print(f"machine: {m['cores']} cores, {m['cpu']}, TensorFlow {m['tensorflow']}")
    result = {"date": datetime.date.today().isoformat(), "machine": m,
              "budgets": {"cell_s": CELL_BUDGET_S, "core_s": CORE_BUDGET_S,
                          "memory_mb": MEMORY_BUDGET_MB},
              "notebooks": rows}
    (ROOT / "_build" / "benchmark.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=1) + "\n")
        print(f"saved {args.save}")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
