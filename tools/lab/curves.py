"""Real learning curves to diagnose: episode 4's model at three learning rates.

    python -m tools.lab.curves                      # seeds 1 42 1234, 20 epochs each
    python -m tools.lab.curves --seeds 42 --epochs 5

Episode 4 teaches a table for reading learning curves (underfitting, a model that cannot
learn, overfitting) and then asks learners to diagnose three unlabelled runs. Those runs
must be real, and training them in the notebook would cost three more fits: this command
trains them once, with episode 4's own ``build_cnn`` (the cell tagged
``reuse-build-cnn``), compile and fit settings, at learning rates 0.00001 (too small:
both curves creep up together), 0.001 (the episode's: overfitting) and 0.1 (too large:
stuck at chance). It writes every epoch of every run to
``cnnlesson/tables/diagnose_curves.csv``, which the episode plots (seed 42) and
``tests/test_claims_core.py`` checks, for every seed, against the diagnosis the
episode's answer gives.
"""
from __future__ import annotations

import argparse
import sys
import time

import keras

import cnnlesson
from tools.facts import EPISODES, TABLES
from tools.lab.sweep import made_by, read, write_table
from tools.notebooks import code_cells

EPISODE = EPISODES / "04-compile-and-fit.md"
OUT = TABLES / "diagnose_curves.csv"
# run letter (what the episode shows) -> learning rate; the episode's answer says which is which
RUNS = {"A": 1e-3, "B": 0.1, "C": 1e-5}
FIELDS = ["seed", "run", "learning_rate", "epoch", "loss", "val_loss", "accuracy",
          "val_accuracy"]


def run(build_cnn, data, seed, letter, learning_rate, epochs):
    """One run as episode 4 trains its model; returns one row per epoch."""
    keras.utils.set_random_seed(seed)
    model = build_cnn()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  epochs=epochs, batch_size=64, verbose=2).history
    return [{"seed": seed, "run": letter, "learning_rate": learning_rate, "epoch": e + 1,
             **{k: round(float(h[k][e]), 4) for k in FIELDS[4:]}} for e in range(epochs)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 42, 1234])
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    data = cnnlesson.load_lesson_data()
    ns = {"keras": keras, "SEED": 0}
    exec(compile(code_cells(EPISODE, ["build-cnn"])["build-cnn"], str(EPISODE), "exec"), ns)

    def build_cnn():  # the episode's function, seeded by this run (it reads SEED)
        return ns["build_cnn"]()
    new = []
    for seed in args.seeds:
        ns["SEED"] = seed
        for letter, rate in RUNS.items():
            new += run(build_cnn, data, seed, letter, rate, args.epochs)
            print(f"seed {seed}, learning rate {rate:g}: done", flush=True)
    comments, rows = read(OUT)
    rows = [r for r in rows if int(r["seed"]) not in set(args.seeds)] + new
    rows.sort(key=lambda r: (int(r["seed"]), r["run"], int(r["epoch"])))
    if not comments:
        comments = ["# Episode 4's model at three learning rates, every epoch (python -m "
                    "tools.lab.curves): the curves episode 4 asks learners to diagnose.",
                    "# Made by the command, date and machine on the lines below "
                    "(one line per run of it)."]
    comments = made_by(comments, "python -m tools.lab.curves "
                       + " ".join(argv if argv is not None else sys.argv[1:]), EPISODE.stem,
                       started, ["build-cnn"])
    write_table(OUT, comments, FIELDS, rows)


if __name__ == "__main__":
    main()
