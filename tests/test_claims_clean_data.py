"""Claims of episode 16 (clean data before training), on the numbers its executed notebook
reported (see tests/lessonrun.py). The copies found depend on the data only; the accuracy
claims are bounds that hold under any seed."""
import pytest

from lessonrun import ROOT, numbers
from tools.notebooks import from_source

CLEAN = "16-clean-data"


def code(name):
    return [c for c in from_source(ROOT / "episodes" / f"{name}.md").cells
            if c.cell_type == "code" and "lesson-numbers" not in c.metadata.get("tags", [])]


def test_the_test_set_is_scored_once_with_one_predict_after_training():
    """'the one look at the test set: one predict': a single final-evaluation cell, after the
    fit, that reads x_test once; the accuracy without the copies comes from the same answers."""
    cells = code(CLEAN)
    finals = [i for i, c in enumerate(cells) if "final-evaluation" in c.metadata.get("tags", [])]
    assert len(finals) == 1, f"expected one final evaluation cell, found {len(finals)}"
    src = cells[finals[0]].source
    assert src.count(".predict(") == 1 and src.count("x_test") == 1 and "evaluate(" not in src
    assert "right[~near_lesson]" in src
    fit = next(i for i, c in enumerate(cells) if "compile_and_fit(model" in c.source)
    assert fit < finals[0], "the test set is scored after training"


@pytest.mark.after_notebooks
def test_no_exact_copies_and_near_copies_are_fewer_than_the_paper_found():
    n = numbers(CLEAN)
    assert n["n_train_full"] == 50_000 and n["n_test"] == 10_000, n
    assert n["n_exact"] == 0, "the text: none of the test images has an exact copy"
    assert n["smallest_distance"] > 0, "an exact copy would be at distance 0"
    assert n["levels"] == [0.1, 0.25, 0.4, 0.55] and n["threshold"] == 0.25, n
    below = n["n_below"]
    assert below == sorted(below) and below[0] < below[-1], below
    assert n["n_near"] == below[1], "the threshold is the figure's second row"
    assert 0 < n["near_share"] < 0.033, "the text: fewer than the paper's 3.3%"
    assert n["n_mirrored"] >= 4, "the challenge shows four mirrored copies"


@pytest.mark.after_notebooks
def test_the_lessons_training_images_hold_few_of_the_copies():
    """Searching the 5,000 lesson images finds a subset of what the full split gives."""
    n = numbers(CLEAN)
    assert n["lesson_test_is_cifar_test"], "the lesson's test set is CIFAR-10's, in order"
    assert n["n_lesson_train"] == 5000
    assert 1 <= n["n_near_lesson"] <= n["n_near"], n
    assert n["near_lesson_share"] == n["n_near_lesson"] / n["n_test"]


@pytest.mark.after_notebooks
def test_removing_the_copies_moves_test_accuracy_at_most_by_their_share():
    """'a change in the fourth decimal ... at most that much': the two accuracies differ by
    less than 0.001 and by no more than the share of images left out."""
    n = numbers(CLEAN)
    assert n["epochs"] == 10 and n["test_acc"] > 0.3, "the model learned something"
    p, k = n["near_lesson_share"], n["n_near_lesson"]
    whole = (1 - p) * n["clean_test_acc"] + p * n["n_near_right"] / k
    assert abs(whole - n["test_acc"]) < 1e-9, "both accuracies come from the same answers"
    change = abs(n["test_acc"] - n["clean_test_acc"])
    assert change <= p and change < 0.001, (change, p)


@pytest.mark.after_notebooks
def test_the_folder_check_names_each_problem():
    n = numbers(CLEAN)
    messages = dict(zip(n["folder_files"], n["folder_messages"]))
    assert sorted(messages) == ["cut-short.jpg", "good.png", "too-big.png"], messages
    assert messages["good.png"] == "ok", messages
    assert "cut-short.jpg cannot be read" in messages["cut-short.jpg"], messages
    assert "too-big.png is 64x48 pixels, not 32x32" in messages["too-big.png"], messages
