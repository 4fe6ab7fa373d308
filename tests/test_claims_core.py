"""The core lesson's claims about behaviour (episodes 3-5) hold in the run that just
executed the notebooks: the numbers come from each notebook's lesson-numbers cell,
never from this file.

- Episode 3: the CNN beats the dense-only baseline on validation accuracy.
- Episode 4: the intro model overfits: a wide gap between training and validation
  accuracy at the end, and a validation loss that rises again after its minimum.
- Episode 5: in the same run, dropout narrows that gap to at most half and reaches a
  best validation accuracy at least as high as the model without dropout.
"""
import pytest

from lessonrun import numbers

pytestmark = pytest.mark.after_notebooks

BUILD, FIT, DROPOUT = "03-build-a-cnn", "04-compile-and-fit", "05-dropout"


def test_cnn_beats_the_dense_only_baseline():
    n = numbers(BUILD)
    assert n["cnn_best_val_acc"] > n["dense_best_val_acc"] + 0.05, (
        f"CNN {n['cnn_best_val_acc']:.3f} vs dense-only {n['dense_best_val_acc']:.3f}")
    # ... and not only at its best epoch: at the end of the brief training too
    assert n["cnn_val_acc"][-1] > n["dense_val_acc"][-1]


def test_cnn_has_fewer_parameters_than_the_dense_baseline():
    n = numbers(BUILD)
    assert n["n_params"] < n["dense_model_params"]
    assert n["dense_params"] > n["n_params"] / 2, "most parameters sit in the first Dense layer"


def test_intro_model_overfits():
    n = numbers(FIT)
    gap = n["accuracy"][-1] - n["val_accuracy"][-1]
    assert gap >= 0.15, f"training - validation accuracy at the end is only {gap:.3f}"
    val_loss = n["val_loss"]
    lowest = min(val_loss)
    at = val_loss.index(lowest)
    assert at < len(val_loss) - 3, f"validation loss is lowest at epoch {at + 1} of {len(val_loss)}"
    assert val_loss[-1] > lowest + 0.1, (
        f"validation loss does not rise from its minimum {lowest:.3f}: ends at {val_loss[-1]:.3f}")
    # the training loss, meanwhile, keeps falling
    assert n["loss"][-1] < n["loss"][at]


def test_learning_rate_challenge():
    n = numbers(FIT)
    assert n["lr_large_val_acc"] < 0.2, "a learning rate of 0.1 should leave the CNN near chance"
    assert n["lr_small_val_acc"] < n["val_acc_epoch3"], "a tiny learning rate learns more slowly"


def test_dropout_narrows_the_gap_and_does_not_cost_accuracy():
    n = numbers(DROPOUT)
    assert n["gap_intro"] >= 0.15, "the model without dropout overfits in episode 5's own run"
    assert n["gap_dropout"] <= 0.5 * n["gap_intro"], (
        f"gap with dropout {n['gap_dropout']:.3f} vs without {n['gap_intro']:.3f}")
    assert n["best_val_dropout"] >= n["best_val_intro"], (
        f"best validation accuracy with dropout {n['best_val_dropout']:.3f} "
        f"vs without {n['best_val_intro']:.3f}")


def test_dropout_model_validation_loss_does_not_turn_up_like_the_intro_model():
    n = numbers(DROPOUT)
    intro, drop = n["intro_val_loss"], n["dropout_val_loss"]
    assert drop[-1] < intro[-1]
    assert drop[-1] - min(drop) < intro[-1] - min(intro)


def test_dropout_rate_challenge():
    n = numbers(DROPOUT)
    rates, gaps, best = n["rates"], n["rate_gaps"], n["rate_best_val"]
    assert rates == sorted(rates) and rates[0] == 0
    assert gaps[-1] < gaps[0] / 2, "the highest rate leaves a much smaller gap than no dropout"
    assert max(best[1:]) >= best[0], "some dropout rate beats no dropout"
    assert abs(gaps[-1]) < 0.1, "at the highest rate the gap is close to zero"
    middle = max(best[1:-1])
    assert best[-1] < middle and best[-1] < best[0] + 0.02, (
        "too much dropout learns too slowly: the highest rate is no better than no dropout")


def test_episode_5_retrains_the_episode_4_model():
    """Same code, same seed: episode 5's model without dropout behaves like episode 4's
    (identical on one machine; close elsewhere)."""
    four, five = numbers(FIT), numbers(DROPOUT)
    assert abs(four["best_val_acc"] - five["best_val_intro"]) < 0.03
    assert abs(four["gap"] - five["gap_intro"]) < 0.05
