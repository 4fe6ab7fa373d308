"""Claims of episodes 9 (save and share), 9 (next steps) and 10 (MNIST capstone).

Each test reads the numbers that the executed notebook reported in its
``lesson-numbers`` cell (see tests/lessonrun.py); nothing here is hard-coded from a
past run.
"""
import pytest

from lessonrun import numbers

SAVE = "09-save-and-share"
NEXT = "10-next-steps"
CAPSTONE = "11-capstone-mnist"


@pytest.mark.after_notebooks
def test_reloaded_model_predicts_exactly_like_the_saved_one():
    n = numbers(SAVE)
    assert n["same_labels"] is True, "the reloaded model predicts other classes"
    assert n["max_abs_diff"] <= 1e-6, (
        f"the reloaded model's logits differ from the saved model's by up to "
        f"{n['max_abs_diff']}")


@pytest.mark.after_notebooks
def test_saved_model_file_name_records_its_settings_and_score():
    n = numbers(SAVE)
    name = n["model_file"]
    assert name.endswith(".keras")
    assert "drop0.5" in name and "lr1e-3" in name
    assert f"val{n['val_acc']:.2f}" in name


@pytest.mark.after_notebooks
def test_transfer_learning_beats_training_from_scratch_on_little_data():
    n = numbers(NEXT)
    # "clearly": by at least 5 points of test accuracy, both frozen and fine-tuned.
    assert n["frozen_test_acc"] >= n["scratch_test_acc"] + 0.05, n
    assert n["fine_tuned_test_acc"] >= n["scratch_test_acc"] + 0.05, n
    assert n["frozen_val_acc"] > n["scratch_val_acc"], n


@pytest.mark.after_notebooks
def test_transfer_learning_matters_most_with_little_data():
    n = numbers(NEXT)
    gap_few = n["frozen_best_val"] - n["scratch_best_val"]
    gap_more = n["more_frozen_best"] - n["more_scratch_best"]
    assert n["more_scratch_best"] > n["scratch_best_val"], n
    assert gap_more < gap_few, n


def test_transfer_learning_wins_in_every_stored_seed_by_more_than_the_spread():
    """Episode 10 calls the frozen-base-versus-scratch gap real, and says it shrinks with
    more images, from the table of `python -m tools.lab.seeds 10` (cnnlesson/tables/
    transfer_seeds.csv): both must hold in every seed it stores, not on average."""
    import cnnlesson
    t = cnnlesson.lesson_table("transfer_seeds")
    assert t["seed"].nunique() == len(t) >= 3, "at least three seeds, one row each"
    few = t["frozen_best_val"] - t["scratch_best_val"]
    more = t["more_frozen_best"] - t["more_scratch_best"]
    assert (few > 0).all(), t
    assert few.min() > 2 * few.std(), "the gap must exceed its spread in every seed"
    assert (more < few).all(), "with 1,000 images the gap must be smaller in every seed"
    assert (t["more_scratch_best"] > t["scratch_best_val"]).all(), t


@pytest.mark.after_notebooks
def test_this_runs_transfer_comparison_lies_within_the_stored_seeds():
    """The notebook re-runs one seed of the stored table: its numbers must lie within what
    the stored seeds span, give or take a little for another machine."""
    import cnnlesson
    n = numbers(NEXT)
    t = cnnlesson.lesson_table("transfer_seeds")
    for key in ("scratch_best_val", "frozen_best_val", "more_scratch_best", "more_frozen_best"):
        lo, hi = t[key].min() - 0.05, t[key].max() + 0.05
        assert lo <= n[key] <= hi, f"{key} = {n[key]:.3f}, outside the stored {lo:.3f}-{hi:.3f}"


@pytest.mark.after_notebooks
def test_mirrored_strategy_ran():
    n = numbers(NEXT)
    assert n["replicas"] >= 1
    assert 0 < n["mirrored_val_acc"] <= 1


@pytest.mark.after_notebooks
def test_mnist_solution_reaches_99_percent_on_validation_and_on_the_test_set():
    n = numbers(CAPSTONE)
    assert n["val_acc"] >= n["goal"] == 0.99, (
        f"the goal is stated on validation; the worked solution reaches {n['val_acc']:.4f}")
    assert n["test_acc"] >= 0.99, f"the worked solution reaches only {n['test_acc']:.4f}"
    assert n["n_wrong"] == round((1 - n["test_acc"]) * n["n_test"])


@pytest.mark.after_notebooks
def test_mnist_confusion_matrix_is_on_the_validation_set():
    n = numbers(CAPSTONE)
    assert n["cm_total"] == n["n_val"], "the capstone's confusion matrix must use validation images"
    assert abs(n["cm_correct"] / n["cm_total"] - n["val_acc"]) < 1e-3


@pytest.mark.after_notebooks
def test_checkpoints_have_descriptive_timestamped_names():
    n = numbers(SAVE)
    # the settings of the model file's name, without its score (the logged run has its own)
    settings = n["model_file"].rsplit("-val", 1)[0]
    assert n["checkpoints"], "ModelCheckpoint wrote no file"
    epochs = []
    for name in n["checkpoints"]:
        assert name.startswith(f"{settings}-{n['run_started']}-epoch") and name.endswith(".keras")
        assert name.count("-val") == 1, "one score per name: the checkpoint's own"
        epochs.append(int(name.split("-epoch")[1][:2]))
    assert epochs == sorted(set(epochs)), "save_best_only: one file per improving epoch"


@pytest.mark.after_notebooks
def test_exported_savedmodel_serves_the_same_logits():
    assert numbers(SAVE)["export_diff"] <= 1e-4
