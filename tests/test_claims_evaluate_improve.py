"""Claims of episodes 6 (evaluate and predict), 7 (improve training) and 8 (a search
and the best model), checked
against the run that just executed the notebooks (see tests/lessonrun.py)."""
import math

import pytest

from lessonrun import numbers

EVALUATE = "06-evaluate-and-predict"
IMPROVE = "07-improve-training"
BEST = "08-search-and-best-model"

# The bar episode 8 sets itself: TensorFlow's CNN tutorial reaches about 0.69 test
# accuracy on CIFAR-10 (10 epochs on all 50,000 images, validating on the test set).
TUTORIAL_TEST_ACC = 0.69
LESSON_BAR = 0.70


@pytest.mark.after_notebooks
def test_test_accuracy_is_close_to_validation_accuracy():
    n = numbers(EVALUATE)
    assert 0.1 < n["test_acc"] < 1
    assert abs(n["test_acc"] - n["val_acc"]) < 0.05, (
        "episode 6 says the validation accuracy was a fair stand-in for the test accuracy")


@pytest.mark.after_notebooks
def test_confusion_matrix_rows_are_the_validation_images_of_each_class():
    n = numbers(EVALUATE)
    assert n["cm_row_sum"] == n["cm_row_sum_max"] == n["n_val"] // 10


@pytest.mark.after_notebooks
def test_hardest_class_is_an_animal_and_cats_are_among_the_hardest():
    n = numbers(EVALUATE)
    animals = {"bird", "cat", "deer", "dog", "frog", "horse"}
    vehicles = {"airplane", "automobile", "ship", "truck"}
    assert n["worst_class"] in animals, "the text says animals are the hardest classes"
    assert n["cat_f1_rank"] <= 3, "the text says cats are among the hardest classes"
    assert n["best_class"] in vehicles, "the text says vehicles are among the easiest"
    same_group = [animals, vehicles]
    assert any({n["most_confused_true"], n["most_confused_pred"]} <= g for g in same_group), (
        "the text says the most common mistake is between two classes of the same group")
    assert any(set(n["pair_both_ways"]) <= g for g in same_group), (
        "challenge 1 says the most confused pair is always of the same group")
    assert n["within_group_share"] > 0.5, "the text says most mistakes stay within a group"
    assert n["best_f1"] > n["worst_f1"] + 0.2


@pytest.mark.after_notebooks
def test_the_model_does_worse_on_grey_images():
    n = numbers(EVALUATE)
    assert n["grey_acc"] < n["val_acc"] - 0.02


@pytest.mark.after_notebooks
def test_early_stopping_stops_before_the_limit_and_restores_the_best_weights():
    n = numbers(IMPROVE)
    assert n["es_epochs_ran"] < n["es_epoch_limit"], "early stopping did not stop early"
    assert n["es_best_epoch"] < n["es_epochs_ran"], "the best epoch is before the last one"
    assert n["es_epochs_ran"] - n["es_best_epoch"] == 3, "patience is 3 epochs"
    # the restored model *is* the best epoch's model: same loss and accuracy on val
    assert math.isclose(n["es_restored_val_loss"], n["es_best_val_loss"],
                        rel_tol=1e-4, abs_tol=1e-5)
    assert abs(n["es_restored_val_acc"] - n["es_best_val_acc"]) <= 1 / 2000 + 1e-9


@pytest.mark.after_notebooks
def test_adam_learns_faster_than_sgd_in_ten_epochs():
    """Challenge 1's solution: in this run, Adam is clearly ahead of SGD after 10 epochs."""
    n = numbers(IMPROVE)
    assert n["adam_val_acc_10"] > n["sgd_val_acc_10"] + 0.05, (
        n["adam_val_acc_10"], n["sgd_val_acc_10"])


@pytest.mark.after_notebooks
def test_augmentation_narrows_the_train_validation_gap():
    n = numbers(IMPROVE)
    assert n["gap_aug"] < n["gap_plain"] - 0.05, (
        f"gap with augmentation {n['gap_aug']:.3f} vs without {n['gap_plain']:.3f}")


@pytest.mark.after_notebooks
def test_search_covers_the_grid():
    n = numbers(BEST)
    assert n["search_runs"] == 4
    assert n["search_best"] >= n["search_worst"]


@pytest.mark.after_notebooks
def test_best_model_beats_the_dropout_model_on_the_test_set():
    n = numbers(BEST)
    assert n["best_test_acc"] > n["base_test_acc"] + 0.05
    assert math.isclose(n["test_gain"], n["best_test_acc"] - n["base_test_acc"], abs_tol=1e-9)


@pytest.mark.after_notebooks
def test_best_model_beats_the_tutorial_honestly():
    n = numbers(BEST)
    assert not n["long_run"], "the default run must be the short one"
    # validated on a held-out part of the training split, never on the test set
    assert n["best_n_train"] + n["best_n_val"] <= 50000 and n["best_n_val"] >= 5000
    assert n["best_test_acc"] >= LESSON_BAR > TUTORIAL_TEST_ACC
    # the validation accuracy was an honest preview of the test accuracy
    assert abs(n["best_val_acc"] - n["best_test_acc"]) < 0.03
    # (its training time, within the one-minute budget, is measured by `make bench`:
    # a speed target is reported by the benchmark, never a test that fails on a slow machine)


@pytest.mark.after_notebooks
def test_the_short_run_does_not_overfit():
    """Episode 8: "In so few epochs ... it underfits rather than overfits": in the last
    epoch of the best model's fit (its printed log), the validation accuracy is not far
    below the training accuracy."""
    import re
    from lessonrun import executed
    cell = next(c for c in executed(BEST).cells
                if c.cell_type == "code" and "best_history = model.fit(" in c.source)
    log = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    epochs = re.findall(r" - accuracy: (0\.\d+) - loss: [\d.]+ - val_accuracy: (0\.\d+)", log)
    assert len(epochs) == numbers(BEST)["best_epochs"], log[-500:]
    train, val = (float(a) for a in epochs[-1])
    assert train - val < 0.05, (train, val)


def _stored_search():
    import cnnlesson
    return cnnlesson.lesson_table("search_seeds")


@pytest.mark.after_notebooks
def test_this_runs_search_lies_within_the_stored_spread_over_seeds():
    """The notebook re-runs one seed of the stored sweep (python -m tools.lab.sweep): each
    configuration's result must lie within what the stored seeds span, give or take a
    little for another machine."""
    n = numbers(BEST)
    table = _stored_search()
    assert n["sweep_seeds"] == table["seed"].nunique() >= 3
    for row in n["search_results"]:
        same = table[(table["dropout"] == row["dropout"])
                     & ((table["learning_rate"] - row["learning_rate"]).abs() < 1e-12)]
        stored = same["best_val_accuracy"]
        assert len(stored) >= 3, f"the sweep has fewer than 3 seeds for {row}"
        assert stored.min() - 0.03 <= row["best_val_accuracy"] <= stored.max() + 0.03, (
            f"{row} lies outside the stored seeds' range {stored.min():.3f}-{stored.max():.3f}")


def _fastest_run(r):
    """A run's time by its fastest epoch (epochs x the fastest), recomputed here."""
    return min(r["epoch_seconds"]) * len(r["epoch_seconds"])


def _bestbench_row(saved, name):
    import statistics
    row = saved["rows"][name]
    runs = row["best"]["runs"]
    tutorial = {r["seed"]: r for r in row["tutorial"]["runs"]}
    # each seed's tutorial run was made right before its best-model run: a pair
    pairs = [(tutorial[r["seed"]], r) for r in runs]
    ratios = [b["seconds"] / t["seconds"] for t, b in pairs]
    fast_ratios = [_fastest_run(b) / _fastest_run(t) for t, b in pairs]
    accs = [r["test_acc"] for r in runs]
    vals = [r["val_acc_flips"] for r in runs]
    return {"val_mean": statistics.mean(vals),"tutorial_s": statistics.mean(t["seconds"] for t in tutorial.values()),
            "tutorial_acc": statistics.mean(t["test_acc"] for t in tutorial.values()),
            "tutorial_accs": [t["test_acc"] for t in tutorial.values()],
            "ratio": statistics.mean(ratios), "ratio_sd": statistics.stdev(ratios),
            "fast_ratio": statistics.mean(fast_ratios), "pair_ratios": ratios + fast_ratios,
            "mean": statistics.mean(accs), "min": min(accs), "max": max(accs),
            "seeds": [r["seed"] for r in runs], "policy": row["best"]["policy"],
            "gains": [r["val_acc_flips"] - r["val_acc"] for r in runs]}


def _quoted(text):
    """The names of the lab's measurements a text quotes (tools/quotes.py); the values
    themselves are checked against the saved file by tests/test_quotes.py."""
    from tools.quotes import QUOTE
    return {m["name"] for m in QUOTE.finditer(text)}


def test_quoted_comparison_with_the_tutorial_is_the_saved_bestbench():
    """Episode 8 and its instructors' page quote `python -m tools.lab.bestbench`
    (instructors/bestbench.json): the tutorial recipe and the best model over three seeds,
    trained on the same machine, without bfloat16 units (the AVX2 row) and with them (the
    row as is). The numbers reach the text through lab markers; here, what the text
    concludes from them."""
    import re
    import statistics

    saved, text = _bestbench_and_note()
    assert {"as is", "AVX2"} <= set(saved["rows"]), "bestbench.json needs both rows"
    avx2, as_is = _bestbench_row(saved, "AVX2"), _bestbench_row(saved, "as is")
    learners = " ".join(_episode_path().read_text().split())
    assert {"best.avx2.tutorial_s", "best.avx2.tutorial_test_acc", "best.avx2.ratio",
            "best.avx2.ratio_sd", "best.avx2.val_acc_flips", "best.avx2.val_acc_flips_sd",
            "best.avx2.flip_gain"} <= _quoted(learners), (
        "episode 8 no longer gives learners the comparison table")
    assert {f"best.{row}.{key}" for row in ("avx2", "as-is") for key in
            ("ratio", "ratio_sd", "fast_ratio", "test_acc", "val_acc_flips")} | {
        "best.avx2.flip_gain_sd"} <= _quoted(text), (
        "the instructors' page no longer quotes the bestbench comparison")
    assert avx2["policy"] == "float32", "the first comparison is the one without bfloat16"
    assert as_is["policy"] == "mixed_bfloat16"
    # "on this machine some epochs took half again as long as others, whatever the model"
    row = saved["rows"]["AVX2"]
    for epochs in ([e for r in row["tutorial"]["runs"] for e in r["epoch_seconds"]],
                   [e for r in row["best"]["runs"] for e in r["epoch_seconds"]]):
        assert max(epochs) >= 1.5 * min(epochs)
    # "The spread is large because one tutorial run met the machine in a slow spell"
    if "one tutorial run met the machine in a slow spell" in text:
        tut = sorted(saved["rows"]["as is"]["tutorial"]["runs"], key=lambda r: r["seconds"])
        assert tut[-1]["seconds"] > 1.4 * tut[1]["seconds"]
        assert max(tut[-1]["epoch_seconds"]) > 2 * min(tut[-1]["epoch_seconds"])
        assert as_is["ratio_sd"] > 3 * avx2["ratio_sd"]
    # "and by fastest epochs it is above"
    assert (as_is["fast_ratio"] > 0.3) == ("by fastest epochs it is above" in text)
    for row in (avx2, as_is):
        assert len(row["seeds"]) >= 3, (
            "the best model's test accuracy must be a mean over three seeds: run "
            "`python -m tools.lab.bestbench --save instructors/bestbench.json`, then "
            "`python tools/lesson.py quotes`")
        # what the text concludes: better than the tutorial, in at most about half its time
        assert row["min"] > max(avx2["tutorial_accs"])
        assert max(row["ratio"], row["fast_ratio"]) < 0.6
        # the choice of flips, made on validation: a gain in every seed, above its spread
        assert min(row["gains"]) > 0
        assert statistics.mean(row["gains"]) > statistics.stdev(row["gains"])
    assert "higher in every seed" in text, "episode 8 no longer says the flips won in every seed"
    # the goal, as the text states it per row
    met = {name: row["val_mean"] >= 0.74 and row["ratio"] <= 0.3 for name, row in
           (("AVX2", avx2), ("as is", as_is))}
    # and "within the noise" where the mean ratio lies less than its spread from the bound
    noise = {name: abs(row["ratio"] - 0.3) < row["ratio_sd"] for name, row in
             (("AVX2", avx2), ("as is", as_is))}
    goal = re.search(r"The goal we set for it[,:] .*? is (reached|not reached)( within the noise)? "
                     r"without bfloat16 units(?: and (reached|not reached)( within the noise)? "
                     r"with them)?", text)
    assert goal, "episode 8 no longer says whether the goal is reached"
    assert (goal[1] == "reached") == met["AVX2"] and bool(goal[2]) == noise["AVX2"]
    assert (goal[3] or goal[1]) == ("reached" if met["as is"] else "not reached")
    assert bool(goal[4] if goal[3] else goal[2]) == noise["as is"]
    # "in both rows the mean ratio lies below 0.3 by more than its spread, and so does
    # every single pair, timed either way"
    if "so does every single pair, timed either way" in text:
        for row in (avx2, as_is):
            assert row["ratio"] + row["ratio_sd"] < 0.3
            assert max(row["pair_ratios"]) < 0.3


def _note_text(path):
    """The episode's text in one line, with the blockquotes' "> " taken off."""
    import re
    return " ".join(" ".join(re.sub(r"^> ?", "", line)
                             for line in path.read_text().splitlines()).split())


def _episode_path():
    from pathlib import Path
    return Path(__file__).resolve().parents[1] / "episodes" / f"{BEST}.md"


def _bestbench_and_note():
    """instructors/bestbench.json, and the text of episode 8 and of its instructors'
    page (instructors/best-model.md) as `_note_text` gives it."""
    import json
    root = _episode_path().parents[1]
    return (json.loads((root / "instructors" / "bestbench.json").read_text()),
            _note_text(_episode_path()) + " " + _note_text(root / "instructors" / "best-model.md"))


def _variant_vs_best(row, filters):
    """(variant's, best model's) mean and sd of validation accuracy with flips, and the
    variant's time over the best model's by fastest epochs, over the seeds both ran.
    ``filters``: the first convolution's width, or the name of another variant."""
    import statistics
    best = {r["seed"]: r for r in row["best"]["runs"]}
    name = filters if isinstance(filters, str) else f"first convolution: {filters} filters"
    runs = row["variants"][name]["runs"]
    assert "test_acc" not in str(runs), "a variant never touches the test set"
    pairs = [(best[r["seed"]], r) for r in runs if r["seed"] in best]
    assert len(pairs) >= 3, "a variant is compared over three seeds or more"
    stats = [(statistics.mean(a), statistics.stdev(a)) for a in
             ([v["val_acc_flips"] for _, v in pairs], [b["val_acc_flips"] for b, _ in pairs])]
    time = sum(_fastest_run(v) for _, v in pairs) / sum(_fastest_run(b) for b, _ in pairs)
    return stats[0], stats[1], time


def test_quoted_first_layer_variants_are_the_saved_bestbench():
    """Episode 8's instructor note: the width of the first convolution, chosen on
    validation over three seeds (`python -m tools.lab.bestbench --first-filters N`), by the
    rule it states. The numbers reach the note through lab markers; here, the rule."""
    import statistics

    from tools.lab import bestbench
    saved, text = _bestbench_and_note()
    variants = {f"best.{row}.variants.first-convolution-{n}-filters.{key}"
                for row in ("as-is", "avx2") for n in (16, 24) for key in ("time", "val_acc_flips")}
    assert variants | {"best.as-is.variants.first-convolution-24-filters.val_acc_flips_low"} \
        <= _quoted(text), "episode 8's instructor note no longer quotes the variants"
    rows = saved["rows"]["as is"], saved["rows"]["AVX2"]
    assert [r["best"]["policy"] for r in rows] == ["mixed_bfloat16", "float32"]
    for row in rows:  # "drops larger than the spread between seeds"
        (acc, sd), (best, best_sd), _ = _variant_vs_best(row, 16)
        assert best - acc > max(sd, best_sd)
    # the rule: the fewest filters that reach the goal by more than the spread (mean - sd)
    # in both rows. 16 and 24 reach it on the mean; 16 misses by the spread in both rows,
    # 24 with bfloat16 units; the model keeps 32, whose runs clear it in both.
    goal = saved["goal"]["val_acc_flips_mean_at_least"]
    assert goal == 0.74 and "reaches the goal's 0.74<!--fixed--> by more than the spread" in text
    low = {(f, i): a - sd for f in (16, 24) for i, r in enumerate(rows)
           for (a, sd), _, _ in [_variant_vs_best(r, f)]}
    assert all(_variant_vs_best(r, f)[0][0] >= goal for f in (16, 24) for r in rows)
    assert low[16, 0] < goal and low[16, 1] < goal and low[24, 0] < goal
    for row in rows:
        accs = [r["val_acc_flips"] for r in row["best"]["runs"]]
        assert statistics.mean(accs) - statistics.stdev(accs) >= goal
    episode = next(c for c in bestbench.episode_best_model_code()[0] if "def best_model" in c)
    kept = bestbench.first_filters_of(episode)
    assert f"only {kept} clear it in both rows" in text
    for row in rows:
        assert row["best"]["first_filters"] == kept


def test_quoted_recipe_comparison_is_the_saved_bestbench():
    """Episode 8's instructor note: the training recipe that the best model's replaced,
    trained again with the same seeds and compared on validation only
    (`python -m tools.lab.bestbench --config ...`)."""
    import re

    from tools.lab import bestbench, bestsummary
    saved, text = _bestbench_and_note()
    command = re.search(r"`python -m tools\.lab\.bestbench --config ([^`]*)`", text)
    assert command, "episode 8's instructor note no longer gives the command of the old recipe"
    changes = bestbench.parse_changes(command[1].split())

    def quoted(values):
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in values.items())
    # the recipes quoted are the episode's best_cfg and the variant that was measured
    cfg = bestbench.episode_namespace(big=None)[0]["best_cfg"]
    assert f"`{quoted(changes)}`" in text and f"`{quoted({k: getattr(cfg, k) for k in changes})}`" in text
    assert all(getattr(cfg, k) != v for k, v in changes.items())
    name = bestbench.variant_name(changes=changes)
    assert {f"best.{row}.variants.{bestsummary.slug(name)}.{key}" for row in ("as-is", "avx2")
            for key in ("time", "val_acc_flips")} <= _quoted(text)
    for policy, row in (("mixed_bfloat16", saved["rows"]["as is"]),
                        ("float32", saved["rows"]["AVX2"])):
        assert row["best"]["policy"] == policy
        assert row["variants"][name]["config"] == {**row["best"]["config"], **changes}
        (acc, sd), (best, best_sd), ratio = _variant_vs_best(row, name)
        # "to train in less time"; "differences smaller than the spread between seeds"
        assert ratio > 1.2
        assert abs(best - acc) < max(sd, best_sd)


def test_search_conclusions_hold_for_every_stored_seed():
    """Episode 8 states only what holds in every seed of the stored sweep, and what the
    means and spreads over its seeds show."""
    t = _stored_search()
    piv = t.pivot_table(index="seed", columns=["dropout", "learning_rate"],
                        values="best_val_accuracy")
    assert len(piv) >= 3
    assert (piv[(0.25, 3e-4)] > piv[(0.5, 3e-4)]).all(), "low lr: dropout 0.25 beats 0.5"
    mean, sd = piv.mean(), piv.std()
    favourite = (0.25, 3e-3)
    assert mean.idxmax() == favourite, "the text says it has the highest mean"
    assert sd.idxmax() == favourite, "... and the largest spread"
    lead = mean[favourite] - mean.drop(favourite).max()
    assert 0.5 * sd[favourite] <= lead <= 1.5 * sd[favourite], (
        f"... its lead {lead:.3f} is about one standard deviation ({sd[favourite]:.3f})")
