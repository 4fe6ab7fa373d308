"""Claims of episode 14 (schedules you can see), on the numbers its executed notebook
reported (see tests/lessonrun.py); they must hold under any seed (checked for 42, 7, 1)."""
import re

import numpy as np
import pytest

from lessonrun import ROOT, numbers
from tools.notebooks import from_source

SCHEDULES = "14-learning-rate-schedules"
RATE, LOW = 0.001, 0.0001  # the constant rate, and the step schedule's after its step
STEP_AFTER = 5  # the step schedule lowers the rate after this epoch
TOL = 1e-7  # the rates are float32: 0.001 reads 0.0010000000474974513


def code(name):
    return [c.source for c in from_source(ROOT / "episodes" / f"{name}.md").cells
            if c.cell_type == "code"]


def test_the_one_cycle_schedule_is_episode_8s():
    """'Below is its code, with episode 8's numbers': the same CosineDecay call as episode 8's
    best_model, and episode 8's epochs, batch size, peak rate and training-set size."""
    eight = "\n".join(code("08-search-and-best-model"))
    mine = next(s for s in code(SCHEDULES) if "CosineDecay" in s)
    cfg = re.search(r"best_cfg = RunConfig\((.*?)\)\n", eight, re.S)[1]
    peak = re.search(r"learning_rate=([\d.e-]+)", cfg)[1]
    epochs = re.search(r"epochs=\d+ if LONG_RUN else (\d+)", cfg)[1]
    batch = re.search(r"batch_size=(\d+)", cfg)[1]
    n_train = re.search(r"big = cnnlesson.load_lesson_data\(n_train=(\d+)", eight)[1]
    assert f"steps = {epochs} * int(np.ceil({n_train} / {batch}))" in mine
    call = re.search(r"schedule = (keras.optimizers.schedules.CosineDecay\(.*?steps // 5\))", eight, re.S)[1]
    def words(text):  # episode 8's call sits inside a function: compare without the indents
        return " ".join(text.split())
    assert words(call.replace("cfg.learning_rate", peak)) in words(mine), "episode 8's changed"


@pytest.mark.after_notebooks
def test_the_short_runs_are_what_the_text_says():
    n = numbers(SCHEDULES)
    assert n["n_small"] == 1000 and n["n_val"] == 2000, n
    assert n["epochs"] == 8 and n["batch_size"] == 32 and n["steps_per_epoch"] == 32, n
    assert len(n["seeds"]) == len(set(n["seeds"])) == 3, "three different seeds"


@pytest.mark.after_notebooks
def test_each_run_records_the_rate_its_schedule_set():
    """The constant run keeps 0.001; the step run, called before training and as recorded,
    keeps it for five epochs then trains at 0.0001."""
    n = numbers(SCHEDULES)
    planned = [RATE] * STEP_AFTER + [LOW] * (n["epochs"] - STEP_AFTER)
    assert np.allclose(n["step_schedule"], planned, rtol=0, atol=TOL), n["step_schedule"]
    for rates in n["lr_constant"]:
        assert np.allclose(rates, RATE, rtol=0, atol=TOL), rates
    for rates in n["lr_step"]:
        assert np.allclose(rates, planned, rtol=0, atol=TOL), rates


@pytest.mark.after_notebooks
def test_reduce_lr_on_plateau_multiplies_by_factor_after_an_epoch_without_improvement():
    """'When the validation loss has not improved for patience epochs, it multiplies the rate
    by factor' (0.1, patience 1): the recorded rates follow Keras's rule on the recorded
    losses (an improvement: below the best by more than its min_delta, 1e-4), both ways."""
    n = numbers(SCHEDULES)
    for rates, losses in zip(n["lr_plateau"], n["val_loss_plateau"]):
        best = np.inf
        for epoch in range(n["epochs"] - 1):
            improved = losses[epoch] < best - 1e-4
            best = min(best, losses[epoch]) if improved else best
            expected = rates[epoch] if improved else rates[epoch] * 0.1
            assert abs(rates[epoch + 1] - expected) <= expected * 1e-5, (epoch, rates, losses)
    first = n["lr_plateau"][0]
    low_from = next((e for e, lr in enumerate(first, 1) if lr < first[0]), 0)
    assert n["plateau_low_from"] == low_from, "the epoch the text names, from the first seed"


@pytest.mark.after_notebooks
def test_the_runs_share_their_epochs_until_a_rate_falls():
    """'The three runs start from the same weights and see the same batches. So their curves
    are the same until a rate falls.'"""
    n = numbers(SCHEDULES)
    for const, step, plateau, plateau_rates in zip(n["val_acc_constant"], n["val_acc_step"],
                                                   n["val_acc_plateau"], n["lr_plateau"]):
        assert step[:STEP_AFTER] == const[:STEP_AFTER], (step, const)
        same = next((e for e, lr in enumerate(plateau_rates) if lr < plateau_rates[0]),
                    n["epochs"])
        assert plateau[:same] == const[:same], (plateau, const)


@pytest.mark.after_notebooks
def test_after_the_step_the_curve_flattens():
    """'After a fall, each step is ten times smaller ... the curve soon flattens': past the
    first epoch after the step, the step run's validation accuracy moves less from epoch to
    epoch than the constant run's over the same epochs (averaged over the seeds)."""
    n = numbers(SCHEDULES)
    def moves(curves):
        return np.mean([np.abs(np.diff(c[STEP_AFTER:])) for c in curves])
    assert moves(n["val_acc_step"]) < moves(n["val_acc_constant"]), n


def _final(n, key):
    return np.array([curve[-1] for curve in n[key]])


@pytest.mark.after_notebooks
def test_the_reported_means_and_spreads_are_those_of_the_three_seeds():
    n = numbers(SCHEDULES)
    for name in ("constant", "step", "plateau"):
        final = _final(n, f"val_acc_{name}")
        assert abs(n[f"mean_{name}"] - final.mean()) < 1e-6, name
        assert abs(n[f"sd_{name}"] - final.std(ddof=1)) < 1e-6, name
    assert n["step_final"] == n["val_acc_step"][0][-1]


@pytest.mark.after_notebooks
def test_neither_schedule_clearly_beats_a_constant_rate():
    """'In runs this short, neither schedule clearly beats a constant rate': no schedule's
    mean lies above the constant rate's by more than the two spreads added together."""
    n = numbers(SCHEDULES)
    for name in ("step", "plateau"):
        gap = n[f"mean_{name}"] - n["mean_constant"]
        assert gap < n[f"sd_{name}"] + n["sd_constant"], (name, gap, n)


@pytest.mark.after_notebooks
def test_the_means_differ_by_less_than_their_spreads_added_together():
    """'The means differ by less than their spreads added together. So three seeds cannot
    rank these three ways': every pair's mean ± sd bars overlap."""
    n = numbers(SCHEDULES)
    names = ("constant", "step", "plateau")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            gap = abs(n[f"mean_{a}"] - n[f"mean_{b}"])
            assert gap < n[f"sd_{a}"] + n[f"sd_{b}"], (a, b, gap, n)


@pytest.mark.after_notebooks
def test_the_one_cycle_rate_climbs_for_a_fifth_of_the_steps_then_falls_to_almost_zero():
    n = numbers(SCHEDULES)
    assert n["onecycle_steps"] == 1056 and n["warmup_steps"] == 1056 // 5
    assert abs(n["onecycle_peak"] - 0.006) < TOL * 10 and n["onecycle_peak_step"] == n["warmup_steps"]
    assert abs(n["onecycle_start"] * 20 - n["onecycle_peak"]) < TOL * 10, "twenty times below"
    assert n["onecycle_end"] < n["onecycle_peak"] / 1000, "almost zero at the end"


@pytest.mark.after_notebooks
def test_an_earlier_step_ends_lower():
    """The challenge: the step after epoch 2 ends below the step after epoch 5 (same seed)."""
    n = numbers(SCHEDULES)
    assert n["early_final"] < n["step_final"], n
