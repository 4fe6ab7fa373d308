"""The lesson's best model against TensorFlow's CNN tutorial recipe, side by side. A report.

    python -m tools.lab.bestbench                        # both rows (see below), 3 seeds
    python -m tools.lab.bestbench --save instructors/bestbench.json
    python -m tools.lab.bestbench --part tutorial --save F   # one half (each fits one lock;
    python -m tools.lab.bestbench --part best --seeds 1 --save F   # paired by seed, not in time)
    python -m tools.lab.bestbench --first-filters 32 --rows "as is" --save F   # a variant
    python -m tools.lab.bestbench --config epochs=5 batch_size=256 --save F   # another

On the same machine it trains

* **TensorFlow's CNN tutorial recipe** (tensorflow.org/tutorials/images/cnn): its
  three-convolution model on all 50,000 training images, 10 epochs, batch 32, Adam,
  validating on the test set every epoch as the tutorial does; and
* **the lesson's best model**, exactly as episode 8 defines and trains it (its
  ``RunConfig``, ``best_cfg``, ``best_model`` and training cells are read from
  ``episodes/08-search-and-best-model.md`` and run here, so the two cannot drift apart), on
  45,000 training images with 5,000 held out for validation, once per seed;

both once per seed, each seed's tutorial run right before its best-model run, so that
the two runs of a pair meet the machine in the same state: on a shared or throttled CPU
the speed drifts by tens of percent over minutes, and a ratio of runs made far apart
carries that drift. It prints training time (``fit`` only) and test accuracy, as the
mean ± standard deviation over the seeds, and the time ratio (best model / tutorial)
per pair, as the mean ± standard deviation of the pairs, with the goal episode 8 sets: at
least 0.74 validation accuracy with flips (mean of three seeds) in at most 0.3 of the
tutorial recipe's time. The goal is judged on validation; the test set is read once per
run, at the end, and reported, never used to choose. A goal decided by less than the ratio's spread is marked "within noise". The best
model's test accuracy is with flips, the test-time augmentation the episode chooses on
validation; the table also gives what the flips added to each seed's validation
accuracy (mean ± standard deviation).

Two rows: the machine **as is**, and with ``ONEDNN_MAX_CPU_ISA=AVX2``, which caps oneDNN
at AVX2 so that the machine behaves like a CPU without AVX-512 or bfloat16 units (and
``cnnlesson.mixed_precision_policy()`` answers ``float32``). Each row runs in its own
subprocess, because oneDNN reads the variable once. On a CPU that has nothing beyond
AVX2 (no AVX-512), the cap changes nothing: the second row is then the first one's
measurement, labelled so, unless ``--always-both`` is given.

``--first-filters N`` trains a **variant** instead: the best model with N filters in its
first convolution, the one choice of the model that was measured this way (see episode
8's instructor note). A variant is compared with the best model on validation only, so
its runs never touch the test set; they are saved under the row's ``variants``.
``--config KEY=VALUE ...`` is a variant too: the best model trained with those fields of
``best_cfg`` changed (epochs, batch size, learning rate, dropout), for instance the
recipe the episode used before, to show on validation what the current one gained.

``--save`` merges the parts measured into a JSON file (rows, per-seed numbers, machine,
date and command), so the two halves can run at different times; the table is printed
from everything in the file.
"""
from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import keras
from keras import layers

import cnnlesson
from cnnlesson.hardware import cpu_features
from tools.facts import EPISODES, ROOT
from tools.lab.bestsummary import GOAL_ACC, GOAL_RATIO, ROWS, quotable, table, variants_table
from tools.lab.machine import machine, stamp
from tools.lab.sweep import episode_names
from tools.notebooks import code_cells

EPISODE = EPISODES / "08-search-and-best-model.md"


# The cells of episode 8 that bestbench runs, by their tags (``reuse-NAME``), in the
# episode's order. The training cell must leave ``model`` and ``best_seconds``, the time
# of ``fit`` alone; the test-time augmentation cell defines ``predict_with_flips`` and
# ``accuracy``.
TRAINING_CELL = "best-fit"
FLIPS_CELL = "flips"
MODEL_CELL = "best-model"
EPISODE_CELLS = ("run-config", "best-cfg", MODEL_CELL, TRAINING_CELL, FLIPS_CELL)


def episode_best_model_code(first_filters=None):
    """(definitions, training): the cells of episode 8 that define RunConfig, best_cfg,
    best_model, predict_with_flips and accuracy, and the cell that trains the best
    model. Of the flips cell only its definitions are kept (its lines before the first
    unindented line that is not part of a definition), since it goes on to use the
    episode's trained model. ``first_filters`` changes the number of filters of
    best_model's first convolution, and nothing else."""
    cells = code_cells(EPISODE, EPISODE_CELLS)
    if first_filters is not None:
        cells[MODEL_CELL] = _with_first_filters(cells[MODEL_CELL], first_filters)
    cells[FLIPS_CELL] = _definitions_only(cells[FLIPS_CELL])
    training = cells.pop(TRAINING_CELL)
    return list(cells.values()), training


FIRST_CONV = re.compile(r"layers\.Conv2D\((\d+),")


def _with_first_filters(src, filters):
    """best_model's cell with ``filters`` in its first ``layers.Conv2D(N, ...``."""
    m = FIRST_CONV.search(src)
    if m is None:
        raise SystemExit(f"best_model in {EPISODE.name} no longer has a "
                         f"`layers.Conv2D(filters, ...` whose filters --first-filters sets")
    return src[:m.start(1)] + str(filters) + src[m.end(1):]


def first_filters_of(src):
    """The number of filters of the first convolution in best_model's cell."""
    m = FIRST_CONV.search(src)
    return int(m[1]) if m else None


def _definitions_only(src):
    """The leading ``def`` blocks of a cell (and blank lines between them)."""
    tree = ast.parse(src)
    keep = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            break
        keep.append(node)
    if not keep:
        raise SystemExit(f"the cell of {EPISODE.name} tagged reuse-{FLIPS_CELL} no "
                         f"longer starts with its definitions")
    return "\n".join(src.splitlines()[:keep[-1].end_lineno]) + "\n"


def epoch_timer():
    """A callback that records each epoch's wall time: with other programs competing for
    the CPU, some epochs take longer, and the median epoch shows it."""
    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(round(time.perf_counter() - self._start, 1))
    return EpochTimer()


def tutorial_recipe(seed):
    """tensorflow.org/tutorials/images/cnn, as published (Keras 3 spelling)."""
    full = cnnlesson.load_cifar10()
    x_train, x_test = full.x_train / 255.0, full.x_test / 255.0
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    timer = epoch_timer()
    start = time.perf_counter()
    model.fit(x_train, full.y_train, epochs=10, batch_size=32,
              validation_data=(x_test, full.y_test), callbacks=[timer], verbose=2)
    seconds = time.perf_counter() - start
    _, acc = model.evaluate(x_test, full.y_test, batch_size=1000, verbose=0)
    return {"seconds": round(seconds, 1), "test_acc": round(float(acc), 4), "seed": seed,
            "epoch_seconds": timer.seconds}


TUTORIAL_CONFIG = {"n_train": 50000, "epochs": 10, "batch_size": 32}


def episode_namespace(big, first_filters=None):
    """Episode 8's names, with its definitions run on ``big``; returns (namespace,
    training cell), the cell compiled, ready to run once per seed."""
    ns = episode_names(big=big)
    definitions, training = episode_best_model_code(first_filters)
    for src in definitions:
        exec(compile(src, str(EPISODE), "exec"), ns)
    return ns, compile(training, str(EPISODE), "exec")


def train_best_model(ns, training, seed, test=True, **changes):
    """Run episode 8's training cell for one seed (``changes`` alter ``best_cfg``, e.g.
    fewer epochs in a test); its ``fit`` also gets a per-epoch timer. Returns the run;
    with ``test=False`` (a variant) without the test set."""
    cfg = replace(ns["best_cfg"], seed=seed, **changes)
    timer = epoch_timer()
    build = ns["best_model"]

    def timed_best_model(cfg):
        model = build(cfg)
        fit = model.fit
        # the episode's own callbacks, if its fit ever passes some, are kept
        model.fit = lambda *args, callbacks=(), **kwargs: fit(
            *args, callbacks=[*callbacks, timer], **kwargs)
        return model

    run_ns = {**ns, "best_cfg": cfg, "best_model": timed_best_model}
    exec(training, run_ns)
    big, model = ns["big"], run_ns["model"]
    accuracy, with_flips = ns["accuracy"], ns["predict_with_flips"]
    # as the episode does: both on validation, then the test set once, with flips
    plain = accuracy(model.predict(big.x_val, batch_size=250, verbose=0), big.y_val)
    run = {"seed": seed, "seconds": round(run_ns["best_seconds"], 1),
           "epoch_seconds": timer.seconds,
           "val_acc": round(plain, 4),
           "val_acc_flips": round(accuracy(with_flips(model, big.x_val), big.y_val), 4)}
    if test:
        run.update(test_acc=round(accuracy(with_flips(model, big.x_test), big.y_test), 4),
                   test_with="flips")
    return run


def best_model_runs(seeds, first_filters=None, before_each=None, changes=None):
    """The best model over the seeds, or with ``first_filters`` or ``changes`` (to
    ``best_cfg``) a variant of it, which is measured on validation only.
    ``before_each(seed)`` runs right before each seed's run (the tutorial recipe's run of
    that seed, in a paired measurement)."""
    changes = dict(changes or {})
    # the images as episode 8 loads them (on disk, a memory map)
    ns, training = episode_namespace(
        cnnlesson.load_lesson_data(n_train=45000, n_val=5000, on_disk=True), first_filters)
    known = {f.name for f in fields(ns["best_cfg"])} - {"seed"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise SystemExit(f"--config: best_cfg has no field {', '.join(unknown)}; "
                         f"it has {', '.join(sorted(known))}")
    variant = first_filters is not None or bool(changes)
    if first_filters is None:
        first_filters = first_filters_of(code_cells(EPISODE, [MODEL_CELL])[MODEL_CELL])
    runs = []
    for seed in seeds:
        if before_each:
            before_each(seed)
        runs.append(train_best_model(ns, training, seed, test=not variant, **changes))
        print(f"{'variant' if variant else 'best model'}, seed {seed}: {runs[-1]}", flush=True)
    cfg = replace(ns["best_cfg"], **changes)
    return {"config": {k: v for k, v in cfg.__dict__.items() if k != "seed"},
            "first_filters": first_filters,
            "policy": cnnlesson.mixed_precision_policy(), "runs": runs}


def variant_name(first_filters=None, changes=None):
    parts = [] if first_filters is None else [f"first convolution: {first_filters} filters"]
    if changes:
        parts.append("recipe: " + ", ".join(f"{k}={v!r}" for k, v in changes.items()))
    return "; ".join(parts)


def parse_changes(pairs):
    """``["epochs=5", "dropout=0.3"]`` -> ``{"epochs": 5, "dropout": 0.3}`` (values as
    Python literals; a word that is not one stays a string)."""
    changes = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"--config takes KEY=VALUE pairs, such as epochs=5, not {pair!r}")
        try:
            changes[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            changes[key] = value
    return changes


def measure(part, seeds, first_filters=None, changes=None):
    """Run in this process (the row's environment is already set)."""
    m = machine()
    out = {"machine": m, "stamp": stamp([EPISODE.stem], m, EPISODE_CELLS)}
    if first_filters is not None or changes:
        out["variants"] = {variant_name(first_filters, changes):
                           best_model_runs(seeds, first_filters, changes=changes)}
        return out
    tutorial = {**TUTORIAL_CONFIG, "runs": []}

    def tutorial_run(seed):
        tutorial["runs"].append(tutorial_recipe(seed))
        print(f"tutorial recipe, seed {seed}: {tutorial['runs'][-1]}", flush=True)

    if part == "tutorial":
        for seed in seeds:
            tutorial_run(seed)
    if part in ("best", "all"):  # with "all", each seed's tutorial run comes right before
        out["best"] = best_model_runs(seeds, before_each=tutorial_run if part == "all" else None)
    if tutorial["runs"]:
        out["tutorial"] = tutorial
    return out


def no_isa_beyond_avx2():
    feats = cpu_features()
    return bool(feats) and not any(f.startswith(("AVX-512", "AMX")) for f in feats)


def run_row(row, part, seeds, first_filters=None, changes=None):
    env = {**os.environ, **ROWS[row], "PYTHONUNBUFFERED": "1"}
    if not ROWS[row]:
        env.pop("ONEDNN_MAX_CPU_ISA", None)
    cmd = [sys.executable, "-m", "tools.lab.bestbench", "--_child", part, "--seeds", *map(str, seeds)]
    if first_filters is not None:
        cmd += ["--first-filters", str(first_filters)]
    if changes:
        cmd += ["--config", *(f"{k}={v!r}" for k, v in changes.items())]
    lines = []
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:  # shown as they come: a row runs for a quarter of an hour
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    if proc.returncode:
        raise SystemExit(f"row {row!r} failed (exit {proc.returncode})")
    return json.loads("".join(lines).rsplit("\nRESULT ", 1)[1])


def merge(saved, row, result):
    """Add one row's result to ``saved``: a variant's runs go under the row's variants,
    with their own machine and date, and leave the rest of the row as it was."""
    rows = saved.setdefault("rows", {})
    old = rows.get(row, {})
    if "variants" in result:
        variants = dict(old.get("variants", {}))
        for name, runs in result["variants"].items():
            variants[name] = _merge_runs(variants.get(name), {
                **runs, "machine": result["machine"], "stamp": result.get("stamp"),
                "date": datetime.date.today().isoformat()})
        rows[row] = {**old, "variants": variants}
        return saved
    for part in ("best", "tutorial"):
        if part in result:
            result[part] = _merge_runs(old.get(part), result[part])
    rows[row] = {**old, **result}
    return saved


def _merge_runs(old, new):
    """``new``, with the runs of ``old`` for other seeds if it trained the same model."""
    keys = ("config", "first_filters", *TUTORIAL_CONFIG)
    same = old and "runs" in old and all(old.get(k) == new.get(k) for k in keys)
    if same:
        seen = {r["seed"] for r in new["runs"]}
        new = {**new, "runs": sorted(
            [r for r in old["runs"] if r["seed"] not in seen] + new["runs"],
            key=lambda r: r["seed"])}
    return new


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["tutorial", "best", "all"], default="all")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 42, 1234])
    ap.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    ap.add_argument("--always-both", action="store_true",
                    help="measure the AVX2 row even where the CPU has nothing beyond AVX2")
    ap.add_argument("--first-filters", type=int, metavar="N",
                    help="train a variant: N filters in the first convolution (validation only)")
    ap.add_argument("--config", nargs="+", metavar="KEY=VALUE",
                    help="train a variant: these fields of best_cfg changed (validation only)")
    ap.add_argument("--save", metavar="JSON")
    ap.add_argument("--_child", choices=["tutorial", "best", "all"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    changes = parse_changes(args.config)
    variant = args.first_filters is not None or bool(changes)
    if args._child:
        result = measure(args._child, args.seeds, args.first_filters, changes)
        print("\nRESULT " + json.dumps(result))
        return
    saved = {}
    if args.save and Path(args.save).exists():
        saved = json.loads(Path(args.save).read_text())
    same = no_isa_beyond_avx2() and not args.always_both
    for row in args.rows:
        if row == "AVX2" and same:
            continue  # filled in from "as is" below
        what = variant_name(args.first_filters, changes) if variant else args.part
        print(f"== {row} ({ROWS[row] or 'no variable set'}): {what}", flush=True)
        merge(saved, row, run_row(row, args.part, args.seeds, args.first_filters, changes))
    if same and "as is" in saved.get("rows", {}):
        saved["rows"]["AVX2"] = {**saved["rows"]["as is"],
                                 "same_as": "this CPU has nothing beyond AVX2"}
    command = "python -m tools.lab.bestbench " + " ".join(sys.argv[1:])
    if variant:  # the file's date and command stay the best model's
        name = variant_name(args.first_filters, changes)
        for row in args.rows:
            variants = saved["rows"].get(row, {}).get("variants", {})
            if name in variants:
                variants[name]["command"] = command
    else:
        saved.update(date=datetime.date.today().isoformat(), command=command)
    saved["goal"] = {"val_acc_flips_mean_at_least": GOAL_ACC, "time_ratio_at_most": GOAL_RATIO}
    saved["quoted"] = quotable(saved)
    if args.save:
        Path(args.save).write_text(json.dumps(saved, indent=1) + "\n")
    print(table(saved))
    variants = variants_table(saved)
    if variants:
        print("\nVariants, on validation only:\n" + variants)


if __name__ == "__main__":
    main()
