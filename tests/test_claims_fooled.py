"""Claims of episode 13 (a model that can be fooled), on the numbers its executed notebook
reported (see tests/lessonrun.py); they must hold under any seed (checked for 42, 7, 1)."""
import pytest

from lessonrun import ROOT, numbers
from tools.notebooks import BLANK_MARK, from_source

FOOLED = "13-a-model-that-can-be-fooled"


def test_the_episode_trains_episode_5s_model_code_unchanged():
    """'This code is episode 5's, unchanged': its build_cnn and compile_and_fit are the
    start of episode 5's faded cell, character for character (the blanks' marks removed)."""
    def code(name):
        return [c.source for c in from_source(ROOT / "episodes" / f"{name}.md").cells
                if c.cell_type == "code"]
    five = next(s for s in code("05-dropout") if s.startswith("def build_cnn"))
    five = "\n".join(BLANK_MARK.sub("", line) for line in five.splitlines())
    mine = next(s for s in code(FOOLED) if s.startswith("def build_cnn"))
    assert five.startswith(mine.strip()), "episode 13's model differs from episode 5's"


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
