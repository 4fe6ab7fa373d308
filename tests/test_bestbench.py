"""tools.lab.bestbench trains episode 8's best model with the episode's own cells, so the two cannot drift apart."""
from dataclasses import dataclass

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnlesson.data import LessonData  # noqa: E402
from tools.lab import bestbench, bestsummary  # noqa: E402


def small_data(n_train=256, n_val=64, n_test=128):
    rng = np.random.default_rng(0)

    def images(n):
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)

    def labels(n):
        return rng.integers(0, 10, size=n).astype(np.int64)

    return LessonData(images(n_train), labels(n_train), images(n_val), labels(n_val),
                      images(n_test), labels(n_test), tuple(f"class {i}" for i in range(10)))


def test_the_benchmark_runs_the_episodes_training_cell_with_a_timer_per_epoch():
    definitions, training = bestbench.episode_best_model_code()
    assert "best_history = model.fit(" in training and "def best_model" in definitions[2]
    # of the flips cell, only its definitions: it goes on to use the episode's model
    assert "def predict_with_flips" in definitions[-1] and "def accuracy" in definitions[-1]
    assert "flip_val_acc" not in definitions[-1]
    ns, compiled = bestbench.episode_namespace(small_data())
    run = bestbench.train_best_model(ns, compiled, seed=3, epochs=2)
    assert run["seed"] == 3
    assert len(run["epoch_seconds"]) == 2, "the timer saw both epochs of the episode's fit"
    assert 0 < sum(run["epoch_seconds"]) <= run["seconds"] + 0.5
    assert 0 <= run["test_acc"] <= 1 and 0 <= run["val_acc"] <= 1
    assert 0 <= run["val_acc_flips"] <= 1 and run["test_with"] == "flips"
    # one seed's run leaves the episode's names as they were for the next seed
    assert ns["best_cfg"].seed == ns["SEED"] and ns["best_cfg"].epochs != 2
    assert "model" not in ns and ns["best_model"].__name__ == "best_model"


def test_a_missing_episode_cell_is_named(monkeypatch):
    monkeypatch.setattr(bestbench, "EPISODE_CELLS",
                        bestbench.EPISODE_CELLS + ("no such cell in episode 8",))
    with pytest.raises(SystemExit, match="no such cell in episode 8"):
        bestbench.episode_best_model_code()


def test_the_timer_keeps_callbacks_the_episodes_fit_passes():
    """If episode 8's fit passes callbacks of its own, the benchmark adds its timer to
    them instead of replacing them."""
    seen = {}

    class Model:
        def fit(self, *args, callbacks=(), **kwargs):
            seen["callbacks"] = list(callbacks)
            timer = callbacks[-1]  # one epoch, as keras would run it
            timer.on_train_begin()
            timer.on_epoch_begin(0)
            timer.on_epoch_end(0)
            seen["history"] = keras.callbacks.History()
            seen["history"].history = {"val_accuracy": [0.5]}
            return seen["history"]

        def predict(self, images, **kwargs):
            # class 0 for every image, class 1 for mirrored ones
            logits = np.zeros((len(images), 10))
            logits[:, 1 if images.strides[2] < 0 else 0] = 1
            return logits

    @dataclass(frozen=True)
    class Config:
        seed: int = 0

    mine = object()
    training = compile("model = best_model(best_cfg)\n"
                       "best_history = model.fit(1, callbacks=[mine])\nbest_seconds = 1.0",
                       "cell", "exec")
    ns = {"best_cfg": Config(), "best_model": lambda cfg: Model(), "mine": mine,
          "big": small_data(8, 8, 8), "np": np}
    definitions, _ = bestbench.episode_best_model_code()
    exec(definitions[-1], ns)  # the episode's predict_with_flips and accuracy
    run = bestbench.train_best_model(ns, training, seed=1)
    assert seen["callbacks"][0] is mine and len(seen["callbacks"]) == 2
    assert len(run["epoch_seconds"]) == 1
    big = ns["big"]
    # as is, every image is class 0; with flips the two logits tie and argmax picks 0
    assert run["val_acc"] == round(float(np.mean(big.y_val == 0)), 4)
    assert run["val_acc_flips"] == run["val_acc"]
    assert run["test_acc"] == round(float(np.mean(big.y_test == 0)), 4)


def test_the_table_gives_the_gain_of_the_flips_over_seeds():
    runs = [{"seed": s, "seconds": 10.0, "epoch_seconds": [2.0] * 5, "val_acc": v,
             "val_acc_flips": f, "test_acc": 0.75} for s, v, f in
            [(1, 0.70, 0.71), (2, 0.72, 0.74), (3, 0.71, 0.72)]]
    assert [round(g, 4) for g in bestsummary.flip_gains(runs)] == [0.01, 0.02, 0.01]
    row = {"tutorial": {"epochs": 10, "runs": [
               {"seed": s, "seconds": 100.0, "test_acc": 0.66, "epoch_seconds": [10.0] * 10}
               for s in (1, 2, 3)]},
           "best": {"policy": "float32", "runs": runs}}
    cells = bestsummary.summary(row)
    assert cells["flip gain, val"] == "+0.013 ± 0.006"
    # the goal is judged on validation with flips (mean 0.723 here: below 0.74)
    assert cells["ratio"] == "0.10 ± 0.00" and cells["goal"] == "not met"
    assert cells["tutorial s"] == "100 ± 0" and cells["tutorial acc"] == "0.660 ± 0.000"
    for r in runs:
        r["val_acc_flips"] += 0.03  # mean 0.753 with flips: the goal is met
    assert bestsummary.summary(row)["goal"] == "met"
    runs[0]["test_acc"] = 0.50  # the test set never decides it
    assert bestsummary.summary(row)["goal"] == "met"


def test_the_time_ratio_is_taken_per_seed_and_a_close_goal_is_called_noise():
    def run(seed, seconds, epochs):
        return {"seed": seed, "seconds": seconds, "epoch_seconds": [seconds / epochs] * epochs,
                "test_acc": 0.75, "val_acc": 0.74, "val_acc_flips": 0.75}
    # the machine slows down between the pairs: each pair shares its speed
    row = {"tutorial": {"epochs": 10, "runs": [run(1, 100, 10), run(42, 200, 10),
                                               run(7, 50, 10)]},
           "best": {"policy": "float32",
                    "runs": [run(1, 25, 5), run(42, 60, 5), run(1234, 99, 5)]}}
    r = bestsummary.ratios(row)
    assert r["seeds"] == [1, 42]  # only the seeds both ran
    assert [round(x, 3) for x in r["time"]] == [0.25, 0.3]
    assert [round(x, 3) for x in r["fastest"]] == [0.25, 0.3]
    assert bestsummary.goal(0.75, r["time"], 3) == "met (within noise)"
    assert bestsummary.goal(0.75, [0.2, 0.21, 0.19], 3) == "met"
    assert bestsummary.goal(0.75, [0.4, 0.41, 0.39], 3) == "not met"
    assert bestsummary.goal(0.75, [0.31, 0.25, 0.37], 3) == "not met (within noise)"
    assert bestsummary.goal(0.73, [0.2, 0.3, 0.25], 3) == "not met"
    assert bestsummary.goal(0.75, [0.2, 0.21, 0.19], 2) == "not met"


def test_each_seeds_tutorial_run_comes_right_before_its_best_model_run(monkeypatch):
    @dataclass
    class Config:
        seed: int = 0

    order = []
    monkeypatch.setattr("cnnlesson.load_lesson_data", lambda **kwargs: None)
    monkeypatch.setattr(bestbench, "episode_namespace",
                        lambda big, first_filters=None: ({"best_cfg": Config()}, None))
    monkeypatch.setattr(bestbench, "tutorial_recipe",
                        lambda seed: order.append(("tutorial", seed)) or {"seed": seed})
    monkeypatch.setattr(bestbench, "train_best_model", lambda ns, training, seed, test:
                        order.append(("best", seed)) or {"seed": seed})
    monkeypatch.setattr(bestbench, "machine", lambda: {})
    out = bestbench.measure("all", [1, 42, 1234])
    assert order == [("tutorial", 1), ("best", 1), ("tutorial", 42), ("best", 42),
                     ("tutorial", 1234), ("best", 1234)]
    assert [r["seed"] for r in out["tutorial"]["runs"]] == [1, 42, 1234]
    assert out["tutorial"]["epochs"] == 10 and out["tutorial"]["batch_size"] == 32
    order.clear()
    assert "best" not in bestbench.measure("tutorial", [5]) and order == [("tutorial", 5)]


def test_the_flips_cell_must_start_with_its_definitions():
    src = "def f():\n    return 1\n\n\ndef g():\n    return 2\n\n\nprint(f())\n"
    kept = bestbench._definitions_only(src)
    assert "def g" in kept and "print" not in kept
    with pytest.raises(SystemExit, match="no longer starts with its definitions"):
        bestbench._definitions_only("x = 1\n" + src)


def test_a_variant_changes_the_first_convolution_only():
    definitions, _ = bestbench.episode_best_model_code()
    episode = next(c for c in definitions if "def best_model" in c)
    changed, _ = bestbench.episode_best_model_code(first_filters=40)
    variant = next(c for c in changed if "def best_model" in c)
    assert bestbench.first_filters_of(variant) == 40
    assert bestbench.first_filters_of(episode) != 40
    # one number differs, in the first Conv2D, and every other cell is the episode's
    diff = [(a, b) for a, b in zip(episode.splitlines(), variant.splitlines()) if a != b]
    assert len(diff) == 1 and "Conv2D(40," in diff[0][1]
    assert [c for c in changed if "def best_model" not in c] == \
        [c for c in definitions if "def best_model" not in c]
    with pytest.raises(SystemExit, match="no longer has a `layers.Conv2D"):
        bestbench._with_first_filters("def best_model(cfg):\n    pass\n", 8)


def test_a_variant_is_trained_without_the_test_set():
    ns, compiled = bestbench.episode_namespace(small_data(), first_filters=8)
    ns["big"].x_test = ns["big"].y_test = None  # any use of the test set fails
    run = bestbench.train_best_model(ns, compiled, seed=3, test=False, epochs=1)
    assert "test_acc" not in run and 0 <= run["val_acc_flips"] <= 1
    assert ns["best_model"](ns["best_cfg"]).layers[2].filters == 8


def _runs(accs, epoch_s):
    return [{"seed": s, "seconds": 5 * epoch_s, "epoch_seconds": [epoch_s] * 5,
             "val_acc": a - 0.01, "val_acc_flips": a} for s, a in zip((1, 42, 1234), accs)]


def test_variant_runs_are_saved_beside_the_row_and_compared_on_validation():
    best = {"config": {"epochs": 5}, "first_filters": 16, "policy": "float32",
            "runs": [{**r, "test_acc": 0.75} for r in _runs([0.74, 0.74, 0.75], 8.0)]}
    saved = {"rows": {"as is": {"machine": {"cpu": "A"}, "tutorial": {"seconds": 100},
                                "best": best}}}
    variant = {"config": {"epochs": 5}, "first_filters": 32, "policy": "float32",
               "runs": _runs([0.75, 0.75, 0.76], 10.0)[:2]}
    name = bestbench.variant_name(32)
    bestbench.merge(saved, "as is", {"machine": {"cpu": "B"}, "variants": {name: variant}})
    # a third seed later: merged with the first two, the row itself untouched
    later = {**variant, "runs": _runs([0.75, 0.75, 0.76], 10.0)[2:]}
    bestbench.merge(saved, "as is", {"machine": {"cpu": "B"}, "variants": {name: later}})
    row = saved["rows"]["as is"]
    assert row["machine"] == {"cpu": "A"} and row["best"] is best
    assert [r["seed"] for r in row["variants"][name]["runs"]] == [1, 42, 1234]
    assert row["variants"][name]["machine"] == {"cpu": "B"}
    c = bestsummary.compare_variant(row, row["variants"][name])
    assert c == {"seeds": "1,42,1234", "variant": "0.753 ± 0.006",
                 "best": "0.743 ± 0.006", "time": "1.25"}
    assert "| as is | first convolution: 32 filters | float32 | 1,42,1234 |" in \
        bestsummary.variants_table(saved)
    # another architecture under the same RunConfig does not inherit the runs
    other = {**later, "first_filters": 24}
    bestbench.merge(saved, "as is", {"machine": {}, "variants": {name: other}})
    assert [r["seed"] for r in saved["rows"]["as is"]["variants"][name]["runs"]] == [1234]


def test_a_rows_output_is_shown_as_it_comes_and_its_result_read(tmp_path, monkeypatch, capsys):
    child = tmp_path / "child"
    child.write_text("#!/bin/sh\necho 'tutorial recipe, seed 1: {}'\necho\n"
                     "echo 'RESULT {\"machine\": {\"cores\": 2}}'\nexit ${FAIL:-0}\n")
    child.chmod(0o755)
    monkeypatch.setattr(bestbench.sys, "executable", str(child))
    assert bestbench.run_row("as is", "all", [1]) == {"machine": {"cores": 2}}
    assert "tutorial recipe, seed 1: {}" in capsys.readouterr().out
    monkeypatch.setenv("FAIL", "3")
    with pytest.raises(SystemExit, match="row 'AVX2' failed \\(exit 3\\)"):
        bestbench.run_row("AVX2", "all", [1])


def test_config_pairs_are_read_as_python_values():
    assert bestbench.parse_changes(["epochs=5", "batch_size=256", "learning_rate=0.003",
                                    "dropout=0.3", "name=old recipe"]) == {
        "epochs": 5, "batch_size": 256, "learning_rate": 0.003, "dropout": 0.3,
        "name": "old recipe"}
    assert bestbench.parse_changes(None) == {}
    for bad in ("epochs", "=5", "2x=1"):
        with pytest.raises(SystemExit, match="KEY=VALUE pairs"):
            bestbench.parse_changes([bad])
    assert bestbench.variant_name(changes={"epochs": 5, "dropout": 0.3}) == \
        "recipe: epochs=5, dropout=0.3"
    assert bestbench.variant_name(16, {"epochs": 5}) == \
        "first convolution: 16 filters; recipe: epochs=5"


def test_a_config_variant_trains_the_changed_recipe_on_validation_only(monkeypatch):
    big = small_data()
    big.x_test = big.y_test = None  # any use of the test set fails
    monkeypatch.setattr("cnnlesson.load_lesson_data", lambda **kwargs: big)
    import cnnlesson
    sizes, batches = [], cnnlesson.array_batches
    monkeypatch.setattr(cnnlesson, "array_batches", lambda *args, batch_size, **kwargs:
                        sizes.append(batch_size) or batches(*args, batch_size=batch_size,
                                                            **kwargs))
    out = bestbench.best_model_runs([3], changes={"epochs": 1, "batch_size": 64})
    run, = out["runs"]
    assert "test_acc" not in run and 0 <= run["val_acc_flips"] <= 1
    assert len(run["epoch_seconds"]) == 1
    assert sizes == [64], "the episode's training cell got the changed batch size"
    assert out["config"]["epochs"] == 1 and out["config"]["batch_size"] == 64
    definitions, _ = bestbench.episode_best_model_code()
    assert out["first_filters"] == bestbench.first_filters_of(
        next(c for c in definitions if "def best_model" in c))
    with pytest.raises(SystemExit, match="best_cfg has no field epoch;"):
        bestbench.best_model_runs([3], changes={"epoch": 1})


def test_a_config_variant_reaches_the_rows_child(tmp_path, monkeypatch):
    child = tmp_path / "child"
    child.write_text('#!/bin/sh\necho\necho "RESULT {\\"argv\\": \\"$*\\"}"\n')
    child.chmod(0o755)
    monkeypatch.setattr(bestbench.sys, "executable", str(child))
    argv = bestbench.run_row("as is", "all", [1], changes={"epochs": 5, "dropout": 0.3})["argv"]
    assert argv.endswith("--config epochs=5 dropout=0.3")


def test_the_quoted_summary_is_what_the_tables_show():
    """bestbench.json's `quoted` part (what the pages quote, tools/quotes.py) holds the
    same means, spreads and ratios as the printed tables, per row and per variant."""
    import json
    import statistics
    saved = json.loads((bestbench.ROOT / "instructors" / "bestbench.json").read_text())
    assert saved["quoted"] == bestsummary.quotable(saved), (
        "bestbench.json's quoted part is out of date: it is written at every --save")
    for name, row in saved["rows"].items():
        q = saved["quoted"][bestsummary.slug(name)]
        r = bestsummary.ratios(row)
        assert q["ratio"] == pytest.approx(statistics.mean(r["time"]), abs=1e-6)
        assert bestsummary.summary(row)["ratio"] == f"{q['ratio']:.2f} ± {q['ratio_sd']:.2f}"
        for label, variant in row.get("variants", {}).items():
            shown = bestsummary.compare_variant(row, variant)
            assert shown["time"] == f"{q['variants'][bestsummary.slug(label)]['time']:.2f}"
