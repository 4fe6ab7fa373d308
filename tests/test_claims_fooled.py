"""Claims of episode 13 (a model that can be fooled), on the numbers its executed notebook
reported (see tests/lessonrun.py); they must hold under any seed (checked for 42, 7, 1)."""
import pytest

from lessonrun import numbers

FOOLED = "13-a-model-that-can-be-fooled"


@pytest.mark.after_notebooks
def test_the_change_is_at_most_epsilon_pixel_levels():
    n = numbers(FOOLED)
    assert n["epsilon"] == 4 and n["max_change"] == n["epsilon"], n
    assert n["n_val"] == 2000 and n["epochs"] <= 10


@pytest.mark.after_notebooks
def test_the_shown_image_was_right_and_confident_and_is_wrong_after_the_change():
    n = numbers(FOOLED)
    assert n["n_fooled"] >= 1 and n["n_fooled_big"] >= 8, "one image, then eight in the challenge"
    assert n["shown_pred"] == n["shown_true"] and n["shown_prob"] > 0.7, n
    assert n["shown_adv_pred"] != n["shown_true"], n


@pytest.mark.after_notebooks
def test_accuracy_falls_as_epsilon_grows_and_four_levels_cost_more_than_half():
    n = numbers(FOOLED)
    assert n["epsilons"] == [0, 1, 2, 4, 8]
    acc = n["accuracies"]
    assert abs(acc[0] - n["clean_acc"]) <= 1 / n["n_val"] + 1e-6, "epsilon 0 changes nothing"
    assert all(a > b for a, b in zip(acc, acc[1:])), acc
    assert n["acc_eps4"] < n["clean_acc"] / 2, "the text: less than half of the clean accuracy"
    assert n["acc_eps8"] < 0.13, "the text: at 8 levels about as often right as guessing (0.1)"


@pytest.mark.after_notebooks
def test_more_answers_flip_at_8_levels_and_most_stay_in_their_group():
    n = numbers(FOOLED)
    assert n["n_fooled_big"] > n["n_fooled"], n
    assert n["same_group_share"] > 0.6, "the text: most new classes stay in their group"
