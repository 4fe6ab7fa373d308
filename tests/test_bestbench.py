"""tools.bestbench trains episode 7's best model with the episode's own cells (issue 9)."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from cnnlesson.data import LessonData  # noqa: E402
from tools import bestbench  # noqa: E402


def small_data(n_train=256, n_val=64, n_test=128):
    rng = np.random.default_rng(0)

    def images(n):
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)

    def labels(n):
        return rng.integers(0, 10, size=n).astype(np.int64)

    return LessonData(images(n_train), labels(n_train), images(n_val), labels(n_val),
                      images(n_test), labels(n_test), tuple(f"class {i}" for i in range(10)))


def test_the_benchmark_runs_the_episodes_training_cell_with_a_timer_per_epoch():
    *definitions, training = bestbench.episode_best_model_code()
    assert "best_history = model.fit(" in training and "def best_model" in definitions[-1]
    ns, compiled = bestbench.episode_namespace(small_data())
    run = bestbench.train_best_model(ns, compiled, seed=3, epochs=2)
    assert run["seed"] == 3
    assert len(run["epoch_seconds"]) == 2, "the timer saw both epochs of the episode's fit"
    assert 0 < sum(run["epoch_seconds"]) <= run["seconds"] + 0.5
    assert 0 <= run["test_acc"] <= 1 and 0 <= run["val_acc"] <= 1
    # one seed's run leaves the episode's names as they were for the next seed
    assert ns["best_cfg"].seed == ns["SEED"] and ns["best_cfg"].epochs != 2
    assert "model" not in ns and ns["best_model"].__name__ == "best_model"


def test_a_missing_episode_cell_is_named(monkeypatch):
    monkeypatch.setattr(bestbench, "EPISODE_CELLS",
                        bestbench.EPISODE_CELLS + ("no such cell in episode 7",))
    with pytest.raises(SystemExit, match="no such cell in episode 7"):
        bestbench.episode_best_model_code()
