"""Claims of episode 12 (from notebook to script), on the numbers its executed notebook
reported (see tests/lessonrun.py); tests/test_train_script.py tests the script itself."""
import pytest

from lessonrun import executed, numbers

SCRIPT_EPISODE = "12-from-notebook-to-script"


@pytest.mark.after_notebooks
def test_the_notebook_reads_the_files_of_the_run_it_started():
    """Not an older run's files left in runs/: the model file it read is the one the
    script said it saved."""
    n = numbers(SCRIPT_EPISODE)
    run = next(c for c in executed(SCRIPT_EPISODE).cells
               if c.cell_type == "code" and c.source.startswith("!"))
    printed = "".join(o.get("text", "") for o in run.outputs)
    assert "model saved to" in printed and n["model_file"] in printed, printed[-500:]


@pytest.mark.after_notebooks
def test_the_model_file_holds_and_names_the_best_epoch_of_the_log():
    n = numbers(SCRIPT_EPISODE)
    assert n["columns"] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert n["epochs_logged"] == 5, "with a patience of 5, 5 epochs cannot stop early"
    assert f"{n['named_val_acc']:.3f}" == f"{n['best_logged_val_acc']:.3f}"
    # evaluate and fit's validation may differ by one image in rounding, never more
    assert abs(n["saved_val_acc"] - n["best_logged_val_acc"]) <= 1 / n["n_val"] + 1e-6, n


@pytest.mark.after_notebooks
def test_sgd_gets_less_far_than_adam_in_five_epochs():
    n = numbers(SCRIPT_EPISODE)
    assert n["sgd_optimizer"] == "sgd", "the challenge's run is the newest row of the table"
    assert n["sgd_val_acc"] < n["named_val_acc"], n
