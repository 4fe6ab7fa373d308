"""Run an episode under several seeds and store the numbers it reports in a small CSV.

    python -m tools.lab.seeds 10 --seeds 1 42 1234 \\
        --keys scratch_best_val frozen_best_val more_scratch_best more_frozen_best \\
        --table transfer_seeds

A comparison that the prose ranks must hold over seeds, not only in the one run a
notebook makes. When running every seed would make the notebook too slow, this command
executes the episode's test build (``_build/test-notebooks/``, the notebook the tests
run) in a fresh kernel once per seed, with ``CNNLESSON_SEED`` set, and keeps the chosen
keys of its ``lesson-numbers`` cell: the notebook's own code, so the table cannot drift
from the episode. The table goes to ``cnnlesson/tables/<table>.csv`` (package data:
``cnnlesson.lesson_table(name)`` reads it, on Colab too); its ``#`` lines record the
command, date and machine. Rows of a seed already in the file are replaced.

(``tools/lab/sweep.py`` does the same for episode 8's grid, which is only a part of its
notebook.)
"""
from __future__ import annotations

import argparse
import sys
import time

from tools.execute import execute
from tools.facts import TABLES, TEST_BUILD, lesson_numbers
from tools.lab.sweep import made_by, read, write_table
from tools.notebooks import write_test_build


def run_seed(name, seed, keys):
    """{key: value} of one execution of the episode's test build under ``seed``."""
    (path,) = [p for p in TEST_BUILD.glob("*.ipynb") if p.stem.startswith(name)]
    run = execute(path, cwd=TEST_BUILD, env={"CNNLESSON_SEED": str(seed)})
    if run.error:
        raise SystemExit(f"{path.name} failed under seed {seed}: {run.error}")
    numbers = lesson_numbers(run.nb)
    if numbers.get("seed") not in (None, seed):
        raise SystemExit(f"{path.name} ran with seed {numbers.get('seed')}, not {seed}")
    missing = [k for k in keys if k not in numbers]
    if missing:
        raise SystemExit(f"{path.name} reports no {missing} in its lesson-numbers cell")
    return {k: round(float(numbers[k]), 4) for k in keys}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("episode", help="episode number or name, e.g. 09")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 42, 1234])
    ap.add_argument("--keys", nargs="+", required=True, help="lesson-numbers keys to keep")
    ap.add_argument("--table", required=True, help="table name: cnnlesson/tables/NAME.csv")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    write_test_build()
    out_path = TABLES / f"{args.table}.csv"
    new = []
    for seed in args.seeds:
        new.append({"seed": seed, **run_seed(args.episode, seed, args.keys)})
        print(new[-1], flush=True)
    comments, rows = read(out_path)
    rows = [r for r in rows if int(r["seed"]) not in set(args.seeds)] + new
    rows.sort(key=lambda r: int(r["seed"]))
    if not comments:
        comments = [f"# Episode {args.episode} under several seeds: the numbers its "
                    "lesson-numbers cell reports (python -m tools.lab.seeds).",
                    "# Made by the command, date and machine on the lines below "
                    "(one line per run of it)."]
    episode = next(p.stem for p in TEST_BUILD.glob("*.ipynb") if p.stem.startswith(args.episode))
    comments = made_by(comments, "python -m tools.lab.seeds "
                       + " ".join(argv if argv is not None else sys.argv[1:]), episode, started)
    write_table(out_path, comments, ["seed", *args.keys], rows)


if __name__ == "__main__":
    main()
