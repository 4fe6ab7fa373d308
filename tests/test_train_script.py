"""scripts/train.py, the script of the optional episode 12: a small run writes what the
episode says (a CSV log, the settings, a model named after its best validation
accuracy), and a wrong setting or a missing data folder ends in one sentence.

The script runs as learners run it, in a subprocess, with the environment of the tests
(CNNLESSON_DATA_DIR, set by `tools/lesson.py test` where a local copy exists). The small
run trains on 500 images for 2 epochs: about 15 s on two CPU cores, TensorFlow's start
included; the whole file takes about 35 s.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "train.py"
LOG_COLUMNS = ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
SMALL = ["--train-images", "500", "--val-images", "200", "--device", "cpu", "--out", "runs"]


def train(*args, cwd, **env):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})


def one_sentence(stderr):
    """The script's own last line of stderr (TensorFlow may have logged before it)."""
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: ") and last.endswith("."), stderr
    return last


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Settings from a file and from the command line, which wins (2 epochs, not 9)."""
    tmp = tmp_path_factory.mktemp("train")
    (tmp / "settings.toml").write_text('channels = [16, 32]\nepochs = 9\nschedule = "step"\n')
    run = train("--config", "settings.toml", "--epochs", "2", *SMALL, cwd=tmp)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run, tmp / "runs"


def test_a_small_run_logs_each_epoch_and_names_the_model_after_its_best(small_run):
    run, out = small_run
    models, logs = list(out.glob("cnn-*.keras")), list(out.glob("cnn-*.csv"))
    assert len(models) == 1 and len(logs) == 1, sorted(p.name for p in out.iterdir())
    with logs[0].open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == LOG_COLUMNS  # learning_rate: the step schedule logs it
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    best = max(float(r["val_accuracy"]) for r in rows)
    assert models[0].name == f"{logs[0].stem}-val{best:.3f}.keras"
    assert f"best validation accuracy {best:.3f}" in run.stdout
    settings = json.loads(logs[0].with_suffix(".json").read_text())
    assert settings["channels"] == [16, 32] and settings["epochs"] == 2
    assert settings["schedule"] == "step" and settings["lr"] == 0.001


def test_the_saved_model_is_the_best_epoch_and_predicts_ten_scores(small_run):
    keras = pytest.importorskip("keras")
    import cnnlesson
    _, out = small_run
    path = next(out.glob("cnn-*.keras"))
    model = keras.models.load_model(path)
    convs = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [16, 32], "the channels of the settings file"
    data = cnnlesson.load_lesson_data(n_train=500, n_val=200)
    assert model.predict(data.x_val[:7], verbose=0).shape == (7, 10)
    _, acc = model.evaluate(data.x_val, data.y_val, batch_size=64, verbose=0)
    named = float(path.stem.rsplit("-val", 1)[1])
    assert abs(acc - named) <= 1 / 200 + 1e-6, "EarlyStopping restored the best epoch"


@pytest.mark.parametrize("args, says", [
    (["--optimizer", "rmsprop"], "--optimizer: invalid choice: 'rmsprop'"),
    (["--epochs", "0"], "--epochs: must be a whole number above 0, not '0'"),
    (["--schedule", "cosine"], "--schedule: invalid choice"),
    (["--channels", "8", "8", "8", "8"], "a fourth convolution layer"),
    (["--train-images", "505"], "multiples of 10"),
    (["--dropout", "1"], "--dropout must be from 0 to below 1"),
    (["--device", "tpu"], "--device must be auto, cpu, gpu or gpu:N"),
    (["--learning-rate", "0.1"], "unrecognized arguments: --learning-rate"),
])
def test_a_wrong_setting_is_one_sentence_before_anything_runs(tmp_path, args, says):
    run = train(*args, "--out", "runs", cwd=tmp_path)
    assert run.returncode != 0
    assert run.stderr.count("\n") == 1 and says in one_sentence(run.stderr), run.stderr
    assert "--help" in run.stderr and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("folder", ["no-such-folder", "empty"])
def test_a_missing_or_empty_data_folder_is_one_sentence(tmp_path, folder):
    (tmp_path / "empty" / "cifar10").mkdir(parents=True)
    run = train("--out", "runs", cwd=tmp_path, CNNLESSON_DATA_DIR=str(tmp_path / folder))
    assert run.returncode != 0
    assert run.stderr.count("\n") == 1 and "CNNLESSON_DATA_DIR" in one_sentence(run.stderr)
    assert not (tmp_path / "runs").exists()


def test_a_device_that_is_not_there_is_one_sentence(tmp_path):
    run = train(*SMALL, "--device", "gpu:99", cwd=tmp_path)  # the last --device wins
    assert run.returncode != 0
    assert "there is no GPU 99" in one_sentence(run.stderr)
    assert not (tmp_path / "runs").exists()


def test_the_script_never_touches_the_test_set():
    """Episode 12 says so: the test images stay for the final evaluation."""
    import re
    assert not re.search(r"\b[xy]_test\b", SCRIPT.read_text())
