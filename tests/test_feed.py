"""cnnlesson.array_batches: fit's data one batch at a time (Binder's memory)."""
from pathlib import Path

import numpy as np
import pytest

import cnnlesson

keras = pytest.importorskip("keras")


def rows(batches):
    return [batches[i] for i in range(len(batches))]


def test_every_row_once_per_epoch_in_batches_of_the_asked_size():
    x = np.arange(103 * 4).reshape(103, 4)
    y = np.arange(103)
    batches = cnnlesson.array_batches(x, y, batch_size=10, seed=1)
    got = rows(batches)
    assert len(batches) == 11
    assert [len(b[1]) for b in got] == [10] * 10 + [3]
    ys = np.concatenate([b[1] for b in got])
    assert sorted(ys) == list(range(103))
    for bx, by in got:  # x and y stay paired
        np.testing.assert_array_equal(bx, x[by])
    assert list(ys) != list(range(103)), "shuffled"


def test_a_new_order_every_epoch_and_the_same_orders_for_the_same_seed():
    x, y = np.zeros((64, 2)), np.arange(64)
    a, b = (cnnlesson.array_batches(x, y, 8, seed=7) for _ in range(2))
    first = [tuple(by) for _, by in rows(a)]
    assert first == [tuple(by) for _, by in rows(b)]
    a.on_epoch_end()
    b.on_epoch_end()
    second = [tuple(by) for _, by in rows(a)]
    assert second != first
    assert second == [tuple(by) for _, by in rows(b)]
    other = cnnlesson.array_batches(x, y, 8, seed=8)
    assert [tuple(by) for _, by in rows(other)] != first


def test_unshuffled_batches_keep_the_order():
    x, y = np.zeros((25, 1)), np.arange(25)
    batches = cnnlesson.array_batches(x, y, 10, shuffle=False)
    batches.on_epoch_end()
    assert list(np.concatenate([by for _, by in rows(batches)])) == list(range(25))
    with pytest.raises(IndexError):
        batches[3]


@pytest.mark.parametrize("x, y, size, message", [
    (np.zeros((5, 2)), np.zeros(4), 2, "x has 5 rows but y has 4"),
    (np.zeros((0, 2)), np.zeros(0), 2, "empty"),
    (np.zeros((5, 2)), np.zeros(5), 0, "batch_size must be 1 or more"),
])
def test_bad_input_says_what_is_wrong(x, y, size, message):
    with pytest.raises(ValueError, match=message):
        cnnlesson.array_batches(x, y, size)


def test_fit_trains_from_the_batches_without_converting_the_whole_arrays(monkeypatch):
    """The point of array_batches: fit never takes the path that copies whole arrays
    into TensorFlow (Keras's ArrayDataAdapter), and it still learns and reshuffles."""
    from keras.src.trainers.data_adapters import array_data_adapter

    def refuse(*args, **kwargs):
        raise AssertionError("fit converted whole arrays")

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (256, 4, 4, 3), dtype=np.uint8)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    batches = cnnlesson.array_batches(x, y, batch_size=32, seed=0)
    before = [tuple(by) for _, by in rows(batches)]
    monkeypatch.setattr(array_data_adapter.ArrayDataAdapter, "__init__", refuse)
    with pytest.raises(AssertionError, match="converted whole arrays"):
        model.fit(x, y, epochs=1, verbose=0)  # the patch catches the array path
    history = model.fit(batches, epochs=8, verbose=0)
    assert len(history.history["loss"]) == 8
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert [tuple(by) for _, by in rows(batches)] != before, "fit called on_epoch_end"


PEAK_SCRIPT = r"""
import os, sys
import numpy as np, keras
import cnnlesson
from tools.execute import _status_bytes

x = np.random.default_rng(0).integers(0, 256, (45000, 32, 32, 3), dtype=np.uint8)
y = np.random.default_rng(1).integers(0, 10, 45000)
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Flatten(), keras.layers.Dense(10)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
before = _status_bytes(os.getpid(), "VmRSS")
if sys.argv[1] == "arrays":
    model.fit(x, y, batch_size=256, epochs=1, steps_per_epoch=3, verbose=0)
else:
    model.fit(cnnlesson.array_batches(x, y, 256), epochs=1, steps_per_epoch=3, verbose=0)
print("RISE", _status_bytes(os.getpid(), "VmHWM") - before, x.nbytes)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(),
                    reason="reads the peak memory from Linux's /proc")
def test_arrays_handed_to_fit_cost_more_memory_than_the_images_batches_do_not():
    """Episode 8's claim: handed 45,000 images (132 MB) as arrays, fit's copies take more
    memory than the images themselves; handed array_batches, it needs far less. Each way
    in a fresh process, by the rise of its peak resident memory during fit."""
    import subprocess
    import sys
    rise = {}
    for way in ("arrays", "batches"):
        out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, way], capture_output=True,
                             text=True, timeout=300, check=True,
                             cwd=Path(__file__).resolve().parents[1]).stdout
        line = next(l for l in out.splitlines() if l.startswith("RISE"))
        rise[way], nbytes = map(int, line.split()[1:])
    assert rise["arrays"] - rise["batches"] > nbytes, (rise, nbytes)
    assert rise["batches"] < nbytes / 2, (rise, nbytes)
