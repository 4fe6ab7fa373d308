"""Seed sweep of episode 8's hyperparameter search: the same grid, several seeds, one CSV.

    python -m tools.lab.sweep                                  # seeds 1 42 1234, all rows
    python -m tools.lab.sweep --seeds 7 --out cnnlesson/tables/search_seeds.csv   # add a seed

Episode 8 runs its small grid (dropout 0.25 or 0.5 x learning rate 3e-4 or 3e-3, 5
epochs each on the lesson's 5,000 training images) once, with one seed. Whether the
order it finds is more than the luck of that seed can only be told over several
seeds; that costs a few minutes, too long for the notebook, so this command measures it
and writes a small table that the notebook reads (mean and standard deviation per
configuration) and that ``tests/test_claims_evaluate_improve.py`` re-checks by re-running
one seed of one configuration.

The functions that build and train the model and run the grid are episode 8's own
cells (``RunConfig``; ``augmentation``/``conv_block``/``build_model``,
``make_optimizer``, ``train``, ``train_more``; ``search_runs``: the cells tagged
``reuse-run-config``, ``reuse-search-model`` and ``reuse-search-runs``), read from
``episodes/08-search-and-best-model.md`` and run here with the seed changed, so the sweep
cannot drift from the episode. Rows of a seed already in the file are replaced; the other
rows are kept. The CSV's header comment records the command, date and machine of each
run, and its ``# stamp:`` line what the table depends on (see ``tools/stale.py``).
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
from keras import layers

import cnnlesson
from tools.facts import DEFAULT_SEED, EPISODES, TABLES
from tools.lab.machine import describe, machine, stamp
from tools.notebooks import code_cells
from tools.stale import STAMP_LINE

EPISODE = EPISODES / "08-search-and-best-model.md"
# the cells of episode 8 that define the search's model and training, in the episode's order
SEARCH_CELLS = ("run-config", "search-model", "search-runs")
DEFAULT_OUT = TABLES / "search_seeds.csv"
DROPOUTS = (0.25, 0.5)  # the episode's two cells, one search_runs(dropout) each
FIELDS = ["seed", "dropout", "learning_rate", "epochs", "best_val_accuracy"]


def episode_names(**names):
    """The names episode 8's first cell imports (and its ``SEED``), plus ``names``: the
    namespace its other code cells run in, here and in ``tools.lab.bestbench``."""
    return {"keras": keras, "layers": layers, "np": np, "cnnlesson": cnnlesson, "time": time,
            "dataclass": dataclass, "replace": replace, "asdict": asdict, "SEED": DEFAULT_SEED,
            **names}


def episode_namespace(data=None):
    """Episode 8's model and search code, run in a fresh namespace (data loaded as in the
    episode, and its ``baseline``, the configuration the search varies)."""
    ns = episode_names(data=data if data is not None else cnnlesson.load_lesson_data())
    for name, src in code_cells(EPISODE, SEARCH_CELLS).items():
        exec(compile(src, str(EPISODE), "exec"), ns)
        if name == "run-config":
            ns["baseline"] = ns["RunConfig"]()
    missing = [w for w in ("RunConfig", "build_model", "train", "search_runs") if w not in ns]
    if missing:
        raise SystemExit(f"{EPISODE.name} no longer defines {missing}")
    return ns


def run_one(ns, seed, dropout):
    """The table's rows for one dropout rate and seed, from the episode's own search rows
    (its settings, epochs included, and best validation accuracy), trained exactly as the
    episode trains them."""
    return [{**{key: row[key] for key in FIELDS}, "seed": seed,
             "best_val_accuracy": round(float(row["best_val_accuracy"]), 4)}
            for row in ns["search_runs"](dropout, seed=seed)]


def read(path):
    """(comment lines, rows) of a sweep CSV; comment lines start with '#'."""
    if not Path(path).exists():
        return [], []
    lines = Path(path).read_text().splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    body = "\n".join(ln for ln in lines if not ln.startswith("#"))
    return comments, list(csv.DictReader(io.StringIO(body)))


def write_table(path, comments, fields, rows):
    """Write a lab table: its ``#`` lines, then the rows as CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(comments) + "\n" + out.getvalue())
    print("wrote", path)


def made_by(comments, command, episode, started, cells=None):
    """A table's ``#`` lines with this run added: its command, date and machine, and the
    stamp of what the table now depends on (replacing the last run's stamp; ``cells``:
    only the episode's cells tagged ``reuse-NAME`` that the run used)."""
    m = machine()
    return [*(c for c in comments if not c.startswith(STAMP_LINE)),
            f"# {command} | {datetime.date.today().isoformat()} | {describe(m)}",
            STAMP_LINE + json.dumps({**stamp([episode], m, cells),
                                     "seconds": round(time.perf_counter() - started)})]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 42, 1234])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    ns = episode_namespace()
    new = []
    for seed in args.seeds:
        for dropout in DROPOUTS:
            for row in run_one(ns, seed, dropout):
                new.append(row)
                print(row, flush=True)
    comments, rows = read(args.out)
    rows = [r for r in rows if int(r["seed"]) not in set(args.seeds)] + new
    rows.sort(key=lambda r: (int(r["seed"]), float(r["dropout"]), float(r["learning_rate"])))
    if not comments:
        comments = ["# Episode 8's hyperparameter search over seeds: best validation accuracy "
                    f"in {new[0]['epochs']} epochs, 5,000 training and 2,000 validation "
                    "images.",
                    "# Made by the command, date and machine on the lines below "
                    "(one line per run of it)."]
    comments = made_by(comments, f"python -m tools.lab.sweep {' '.join(sys.argv[1:])}",
                       EPISODE.stem, started, SEARCH_CELLS)
    write_table(args.out, comments, FIELDS, rows)


if __name__ == "__main__":
    main()
