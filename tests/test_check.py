"""The learners' checks (cnnlesson.check): the lesson's own answer passes, each known
wrong answer gets its own message, nothing raises, and every exercise of the core has
its check in the episode. Tiny models, no training: the checks only inspect."""
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cnnlesson import check
from tools.notebooks import KEEP_TAG, from_source, tags
from lessonrun import ROOT

keras = pytest.importorskip("keras")
layers = keras.layers


def said(capsys, a_check, *args, **kwargs):
    """What a check prints. Checks given names in quotes read them from their caller,
    here this function: those tests call the check themselves, then ``out(capsys)``."""
    a_check(*args, **kwargs)
    return out(capsys)


def out(capsys):
    return capsys.readouterr().out


def dense_only(*middle, shape=(32, 32, 3), rescale=1):
    return keras.Sequential([keras.Input(shape=shape)]
                            + [layers.Rescaling(1 / 255) for _ in range(rescale)]
                            + list(middle))


def history(model=None, **values):
    h = keras.callbacks.History()
    if model is not None:
        h.set_model(model)
    h.history = {k: list(v) for k, v in values.items()}
    return h


# ------------------------------------------------------------------ quick checks

QUICK = {  # episode: (right answer, {wrong answer: a phrase of its message})
    "ep01": (3, {1: "chosen by hand", 2: "Biases are parameters"}),
    "ep02": (2, {1: "as soon as a choice depends", 3: "no honest set"}),
    "ep03": (2, {1: "Padding changes the shape", 3: "pooling still halves"}),
    "ep04": (2, {1: "jumps over the bottom", 3: "times the gradient"}),
    "ep05": (2, {1: "half the units off", 3: "units switched off"}),
}


@pytest.mark.parametrize("episode", QUICK)
def test_quick_checks_explain_every_option(capsys, episode):
    quick_check = getattr(check, episode).quick_check
    right, wrong = QUICK[episode]
    assert said(capsys, quick_check, right).startswith("Right.")
    assert said(capsys, quick_check, str(right)).startswith("Right.")
    for answer, phrase in wrong.items():
        message = said(capsys, quick_check, answer)
        assert message.startswith("Not quite.") and phrase in message
    assert "in place of None" in said(capsys, quick_check, None)
    assert "Pick one of" in said(capsys, quick_check, 7)
    assert "could not read" in said(capsys, quick_check, "seven")
    assert said(capsys, quick_check.solution).startswith(f"Answer {right}.")


# ------------------------------------------------------------------ episode 1

def test_ep01_challenge1_the_silent_neuron(capsys):
    c = check.ep01.challenge1
    inputs = np.array([0.1, 0.9, 0.0])
    s = np.sum(inputs * np.array([1.5, -0.5, 2.0])) - 0.3
    assert "Right: the sum is -0.6" in said(capsys, c, inputs, s, max(s, 0.0))
    assert "still the first neuron's" in said(capsys, c, np.array([0.2, 0.8, 0.5]), 0.6, 0.6)
    assert "asks for [0.1, 0.9, 0.0]" in said(capsys, c, [0.1, 0.9, 0.5], s, 0)
    assert "leaves out the bias" in said(capsys, c, inputs, s + 0.3, 0)
    assert "still comes from the old inputs" in said(capsys, c, inputs, 0.6, 0.6)
    assert "ReLU is missing" in said(capsys, c, inputs, s, s)
    assert "old sum" in said(capsys, c, inputs, s, 0.6)


def test_ep01_challenge2_horizontal_edges(capsys):
    c = check.ep01.challenge2
    vertical_edges = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    c("horizontal_edges")
    assert "There is no `horizontal_edges` yet" in out(capsys)
    horizontal_edges = vertical_edges.T  # noqa: F841 (the check reads it by name)
    c("horizontal_edges")
    assert out(capsys).startswith("Right")
    assert "still the vertical filter" in said(capsys, c, vertical_edges)
    assert "Negating only flips" in said(capsys, c, -vertical_edges)
    assert "sign flipped" in said(capsys, c, -vertical_edges.T)
    assert "more than horizontal" in said(capsys, c, np.array([[0, 0, 1]] * 3))
    assert "3 by 3" in said(capsys, c, np.ones((5, 5)))


# ------------------------------------------------------------------ episode 2

CLASSES = [f"class {i}" for i in range(10)]


def test_ep02_challenge1_counts_of_the_test_set(capsys):
    c = check.ep02.challenge1
    y_test = np.repeat(np.arange(10), 1000)  # sorted by class, like the lesson's
    test_classes = pd.Series([CLASSES[y] for y in y_test])
    assert "Right: 1,000" in said(capsys, c, test_classes)
    assert "Right: 1,000" in said(capsys, c, test_classes.value_counts())
    assert "Right: 1,000" in said(capsys, c, np.bincount(y_test))
    assert "training set's counts" in said(capsys, c, pd.Series(np.repeat(np.arange(10), 500)))
    assert "validation set's counts" in said(capsys, c, {n: 200 for n in CLASSES})
    assert "a slice of the test set" in said(capsys, c, pd.Series(y_test[:500]).value_counts())
    images = np.zeros((50, 32, 32, 3), dtype="uint8")
    assert "look like images" in said(capsys, c, images)
    assert "pixel values" in said(capsys, c, pd.Series(images.ravel()).value_counts())


def test_ep02_challenge2_rescaled_twice(capsys):
    c = check.ep02.challenge2
    x_train = np.arange(256, dtype="float32").reshape(1, 16, 16, 1) / 255
    twice = layers.Rescaling(1 / 255)(x_train)
    assert "Right: about 0.0039" in said(capsys, c, twice)
    assert "rescaled once" in said(capsys, c, x_train)
    assert "raw pixels" in said(capsys, c, 255)
    assert "three times" in said(capsys, c, 1 / 255 ** 3 * 255)
    assert "Expected about 1/255" in said(capsys, c, 0.5)


# ------------------------------------------------------------------ episode 3

def test_ep03_challenge1_counts_by_hand(capsys):
    c = check.ep03.challenge1
    assert said(capsys, c, 18496, 131200, 320).count("right") == 3
    assert said(capsys, c, "18,496", first_dense=131200, first_conv_grey=320).count("right") == 3
    assert "Put your three counts" in said(capsys, c)
    assert "in place of None" in said(capsys, c, 18496)
    for wrong, phrase in [((18432, 131200, 320), "64 biases"),
                          ((1792, 131200, 320), "32 channels"),
                          ((36928, 131200, 320), "the third one"),
                          ((18496, 131072, 320), "128 biases"),
                          ((18496, 393344, 320), "not the whole image"),
                          ((18496, 1024, 320), "what Flatten gives"),
                          ((18496, 131200, 896), "896 is for colour"),
                          ((18496, 131200, 288), "32 biases"),
                          ((18496, 131200, 321), "k x k x c x f + f")]:
        assert phrase in said(capsys, c, *wrong)


def test_ep03_challenge2_a_deeper_dense_network(capsys):
    c = check.ep03.challenge2
    relu = dict(activation="relu")
    deeper = dense_only(layers.Flatten(), layers.Dense(128, **relu), layers.Dense(128, **relu),
                        layers.Dense(10))
    assert "Right: it adds 16,512" in said(capsys, c, deeper)
    assert "Right" in said(capsys, c, 16512)
    assert "128 biases" in said(capsys, c, 16384)
    assert "whole deeper network" in said(capsys, c, 411146)
    assert "Dense layer before Flatten" in said(capsys, c, dense_only(
        layers.Dense(128, **relu), layers.Flatten(), layers.Dense(128, **relu), layers.Dense(10)))
    assert "gives 128 scores" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(128, **relu), layers.Dense(10), layers.Dense(128, **relu)))
    assert "has a convolution" in said(capsys, c, dense_only(
        layers.Conv2D(8, 3), layers.Flatten(), layers.Dense(128, **relu), layers.Dense(10)))
    assert "two of 128" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(128, **relu), layers.Dense(64, **relu), layers.Dense(10)))
    assert "no Rescaling layer" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(128), layers.Dense(10), rescale=0))
    assert "rescales twice" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(128), layers.Dense(10), rescale=2))
    assert "no channel axis" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(10), shape=(32, 32)))
    assert "number of images" in said(capsys, c, dense_only(
        layers.Flatten(), layers.Dense(10), shape=(4, 32, 32, 3)))


# ------------------------------------------------------------------ episode 4

DF = pd.DataFrame({"loss": [2.0, 1.5, 1.2, 1.0, 0.8],
                   "accuracy": [0.3, 0.4, 0.5, 0.6, 0.7],
                   "val_loss": [2.1, 1.5, 1.2, 1.3, 1.6],
                   "val_accuracy": [0.3, 0.4, 0.5, 0.55, 0.52],
                   "epoch": [1, 2, 3, 4, 5]})


def test_ep04_challenge1_when_to_stop(capsys):
    c = check.ep04.challenge1
    both = said(capsys, c, 3, 4, DF)
    assert both.count("right.") == 2 and "an earlier model" in both
    best_loss_epoch = DF.loc[DF["val_loss"].idxmin(), "epoch"]  # noqa: F841 (read by name)
    best_acc_epoch = DF.loc[DF["val_accuracy"].idxmax(), "epoch"]  # noqa: F841
    c("best_loss_epoch", "best_acc_epoch", DF)
    assert out(capsys).count("right.") == 2
    assert said(capsys, c, 3, 4, history(**DF.drop(columns="epoch"))).count("right.") == 2
    assert said(capsys, c, "best_loss", "best_acc", DF).startswith("There is no `best_loss`")
    assert said(capsys, c, 2, 3, DF).count("counted from 0") == 2
    assert "lowest training loss" in said(capsys, c, 5, 4, DF)
    assert "best training accuracy" in said(capsys, c, 3, 5, DF)
    assert "highest validation loss" in said(capsys, c, 1, 4, DF)
    assert "not an epoch number" in said(capsys, c, 1.2, 4, DF)


def cnn_like(last_activation=None):
    return dense_only(layers.Flatten(), layers.Dense(10, activation=last_activation))


def compiled(model, lr=0.001, loss=None):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), metrics=["accuracy"],
                  loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_ep04_challenge2_learning_rates(capsys):
    c = check.ep04.challenge2
    lr_results = {0.1: 0.10, 0.00001: 0.13, 0.001: 0.43}
    assert "Right: at 0.1" in said(capsys, c, lr_results)
    three = dict(loss=[2, 2, 2], val_accuracy=[0.1, 0.1, 0.1])
    runs = {lr: history(compiled(cnn_like(), lr), **three) for lr in (0.1, 1e-5)}
    assert "Right: at 0.1" in said(capsys, c, runs)
    assert "Put your results in a dict" in said(capsys, c, [0.1, 0.13])
    assert "count the zeros" in said(capsys, c, {0.1: 0.1, 0.0001: 0.3})
    assert "both 0.1 and 0.00001" in said(capsys, c, {0.1: 0.1})
    assert "continued a trained model" in said(capsys, c, {0.1: 0.1, 1e-5: 0.6})
    assert "reach the optimizer" in said(capsys, c, {0.1: 0.45, 1e-5: 0.13})
    default = history(compiled(cnn_like()), **three)
    assert "Use Adam(learning_rate=lr)" in said(capsys, c, {**runs, 0.1: default})
    longer = history(compiled(cnn_like(), 0.1), loss=[2] * 5, val_accuracy=[0.1] * 5)
    assert "trained 5 epochs" in said(capsys, c, {**runs, 0.1: longer})
    twice = history(compiled(cnn_like("softmax"), 0.1), **three)
    assert "softmax twice" in said(capsys, c, {**runs, 0.1: twice})


# ------------------------------------------------------------------ episode 5

def test_ep05_challenge1_dropout_at_prediction_time(capsys):
    c = check.ep05.challenge1
    dropout = layers.Dropout(0.5)
    x = np.ones((1, 10), dtype="float32")
    assert said(capsys, c, x, dropout(x, training=False)).startswith("Right")
    out_ = dropout(np.ones((1, 10), dtype="float32"), training=False)  # noqa: F841 (by name)
    c("x", "out_")
    assert out(capsys).startswith("Right")
    keras.utils.set_random_seed(1)
    assert "training=True output" in said(capsys, c, x, dropout(x, training=True))
    assert "old recipe" in said(capsys, c, x, x / 2)
    assert "has shape" in said(capsys, c, x, np.ones(3))
    assert "unchanged" in said(capsys, c, x, x + 1)


def summary(val, gap, fit_acc=0.6):
    return {"training accuracy": val + gap, "validation accuracy": val, "gap": gap,
            "fit's training accuracy": fit_acc, "best validation accuracy": val}


def test_ep05_challenge2_choosing_the_rate(capsys):
    c = check.ep05.challenge2
    summaries = {0.0: summary(0.54, 0.22), 0.5: summary(0.56, 0.14)}
    assert "rates 0, 0.5 so far" in said(capsys, c, summaries)
    summaries.update({0.25: summary(0.57, 0.22), 0.75: summary(0.51, 0.08)})
    assert "in place of None" in said(capsys, c, summaries)
    assert said(capsys, c, summaries, choice=0.5).startswith("Right")
    assert said(capsys, c, summaries, choice=0.25).startswith("Right")
    assert "smallest gap is not the goal" in said(capsys, c, summaries, choice=0.75)
    assert "did not train the rate 0.3" in said(capsys, c, summaries, choice=0.3)
    low = {**summaries, 0.0: summary(0.50, 0.22)}
    assert "Choose by that" in said(capsys, c, low, choice=0.0)
    fit = {**summaries, 0.5: summary(0.56, 0.04, fit_acc=0.60)}
    assert "fit's running mean" in said(capsys, c, fit, choice=0.5)
    assert "lacks keys" in said(capsys, c, {0.5: {"gap": 0.1}})


# ------------------------------------------------------------------ episode 11

def build_model():
    """The capstone's worked solution."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(32, 3, use_bias=False), layers.MaxPooling2D(),
        layers.BatchNormalization(), layers.Activation("relu"),
        layers.Conv2D(64, 3, use_bias=False), layers.MaxPooling2D(),
        layers.BatchNormalization(), layers.Activation("relu"),
        layers.Conv2D(64, 3, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.Activation("relu"),
        layers.Flatten(), layers.Dropout(0.25), layers.Dense(10),
    ])


def digits(*middle, shape=(28, 28, 1), last=None):
    return keras.Sequential([keras.Input(shape=shape), layers.Rescaling(1 / 255),
                             layers.Conv2D(8, 3), layers.MaxPooling2D(), *middle,
                             layers.Flatten(), last or layers.Dense(10)])


def test_ep11_challenge1_look_at_the_data(capsys):
    c = check.ep11.challenge1
    assert "Right: 48,000" in said(capsys, c, n_train=48000, image_shape=(28, 28, 1), n_classes=10)
    assert "official training split" in said(capsys, c, n_train=60000, image_shape=(28, 28, 1),
                                              n_classes=10)
    assert "channel axis too" in said(capsys, c, n_train=48000, image_shape=(28, 28), n_classes=10)
    assert "shape of the whole set" in said(capsys, c, n_train="48,000",
                                             image_shape=(48000, 28, 28, 1), n_classes=10)
    assert "Count the classes" in said(capsys, c, n_train=48000, image_shape=(28, 28, 1),
                                        n_classes=48000)
    assert "in place of None" in said(capsys, c)


def test_ep11_challenge2_a_cnn_for_digits(capsys):
    c = check.ep11.challenge2
    assert "Right: input (28, 28, 1)" in said(capsys, c, build_model)
    assert "Right" in said(capsys, c, build_model())
    c("no_build_model")
    assert "There is no `no_build_model` yet" in out(capsys)
    assert "number of dimensions" in said(capsys, c, lambda: digits(shape=(28, 28)))
    deep = [layer for _ in range(4) for layer in (layers.Conv2D(8, 3), layers.MaxPooling2D())]
    assert "fewer pooling layers" in said(capsys, c, lambda: digits(*deep))
    assert "but one image is (28, 28, 1)" in said(capsys, c, digits(shape=(32, 32, 3)))
    dropped = keras.Sequential([keras.Input((28, 28, 1)), *digits().layers, layers.Dropout(0.5)])
    assert "Dropout comes after the output" in said(capsys, c, dropped)
    assert "relu activation" in said(capsys, c, digits(last=layers.Dense(10, activation="relu")))
    assert "gives 2 scores" in said(capsys, c, digits(last=layers.Dense(2)))
    big = digits(layers.Flatten(), layers.Dense(1000), layers.Reshape((10, 10, 10)))
    assert "slow on a CPU" in said(capsys, c, big)


def test_ep11_challenge3_compile_and_train(capsys):
    c = check.ep11.challenge3
    good = dict(accuracy=[0.97, 0.99], val_accuracy=[0.98, 0.99], loss=[0.1, 0.03],
                val_loss=[0.06, 0.03])
    model = compiled(build_model())
    assert "Right: it reaches the goal on validation" in said(capsys, c, model, history(model, **good))
    assert "Right" in said(capsys, c, model, good)
    assert "not compiled yet" in said(capsys, c, build_model(), good)
    softmax = compiled(digits(last=layers.Dense(10, activation="softmax")))
    assert "softmax twice" in said(capsys, c, softmax, good)
    logits = compiled(build_model(), loss="sparse_categorical_crossentropy")
    assert "expects probabilities" in said(capsys, c, logits, good)
    one_hot = compiled(build_model(), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    assert "one-hot labels" in said(capsys, c, one_hot, good)
    assert "not for classes" in said(capsys, c, compiled(build_model(), loss="mse"), good)
    assert "no validation accuracy" in said(capsys, c, model, dict(accuracy=[0.9], loss=[0.3]))
    assert "at chance" in said(capsys, c, model, {**good, "val_accuracy": [0.1, 0.1]})
    assert "far better" in said(capsys, c, model, {**good, "val_accuracy": [0.7, 0.8]})
    assert "overfit" in said(capsys, c, model, {**good, "val_accuracy": [0.93, 0.94]})
    close = {**good, "accuracy": [0.97, 0.985], "val_accuracy": [0.98, 0.983]}
    assert "below the goal of 0.99" in said(capsys, c, model, close)


def test_ep11_challenge4_test_once(capsys):
    c = check.ep11.challenge4
    h = dict(accuracy=[0.97, 0.99], val_accuracy=[0.98, 0.991])
    assert "Right, measured once: 0.9930" in said(capsys, c, 0.993, h)
    assert "Right" in said(capsys, c, [0.03, 0.993], h)
    assert "a percentage, or the loss" in said(capsys, c, 99.3, h)
    assert "That is the validation accuracy" in said(capsys, c, 0.991, h)
    assert "That is the training accuracy" in said(capsys, c, 0.99, h)
    # a test accuracy below the goal is reported, never a reason to go back and choose
    assert "choosing again now would use the test set" in said(capsys, c, 0.975, h)
    assert "Test and validation accuracy are close" in said(capsys, c, 0.985, h)


# ------------------------------------------------------------------ every check, whatever it gets

ALL = {f"{ep}.{name}": getattr(getattr(check, ep), name)
       for ep in ("ep01", "ep02", "ep03", "ep04", "ep05", "ep11")
       for name in vars(getattr(check, ep))}


@pytest.mark.parametrize("name", ALL)
def test_no_check_raises_and_each_has_help(capsys, name):
    c = ALL[name]
    for args in [(), (None,), (object(),), ("nothing_by_this_name",), (object(), object())]:
        assert said(capsys, c, *args).strip()
    assert said(capsys, c.hint).strip() and said(capsys, c.hint, 2).strip()
    assert said(capsys, c.solution).strip()


def test_the_package_imports_without_keras():
    code = ("import sys; sys.modules['keras'] = sys.modules['tensorflow'] = None\n"
            "from cnnlesson import check; print(check.ep01.quick_check)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ the episodes call them

EXERCISE = re.compile(r"^(?:#{2,3} Challenge (\d+)|\*\*Quick check)", re.M)
HEADING = re.compile(r"^#{1,6} ", re.M)
CORE = ["01-introduction", "02-image-data", "03-build-a-cnn", "04-compile-and-fit", "05-dropout"]


def exercises_and_their_checks(stem):
    """[(exercise, the code of the keep cells between it and the next heading)]."""
    found, current = [], None
    for cell in from_source(ROOT / "episodes" / f"{stem}.md").cells:
        if cell.cell_type == "code":
            if current is not None and KEEP_TAG in tags(cell):
                current[1].append(cell.source)
            continue
        for line in cell.source.split("\n"):
            m = EXERCISE.match(line)
            if m:
                current = (f"challenge{m[1]}" if m[1] else "quick_check", [])
                found.append(current)
            elif HEADING.match(line):
                current = None
    return found


@pytest.mark.parametrize("stem", CORE)
def test_every_core_exercise_has_its_check(stem):
    ep = f"ep{stem[:2]}"
    found = exercises_and_their_checks(stem)
    assert found
    for exercise, code in found:
        call = f"check.{ep}.{exercise}("
        assert any(call in source for source in code), (
            f"{stem}: {exercise} has no `{call}...)` in a keep cell before the next heading")
        assert hasattr(getattr(check, ep), exercise)
    assert "from cnnlesson import check" in (ROOT / "episodes" / f"{stem}.md").read_text()


def test_the_capstone_checks_challenges_1_to_4():
    found = dict(exercises_and_their_checks("11-capstone-mnist"))
    for n in (1, 2, 3, 4):
        assert any(f"check.ep11.challenge{n}(" in source for source in found[f"challenge{n}"])


# ------------------------------------------------------------------ faded examples

def test_ep04_faded_fit(capsys):
    c = check.ep04.faded
    ten = dict(loss=[1.0] * 10, accuracy=[0.5] * 10, val_loss=[1.1] * 10, val_accuracy=[0.5] * 10)
    assert "Right: 10 epochs" in said(capsys, c, history(**ten))
    assert "no validation data" in said(capsys, c, history(loss=[1.0] * 10, accuracy=[0.5] * 10))
    assert "It ran 20 epochs" in said(capsys, c, {k: v * 2 for k, v in ten.items()})
    assert "run the fit cell first" in said(capsys, c, history())


def _cnn(dropout, places=("flatten", "dense"), fixed=None):
    def build_cnn(dropout=dropout):
        rate = dropout if fixed is None else fixed
        body = [keras.Input(shape=(32, 32, 3)), layers.Rescaling(1 / 255),
                layers.Conv2D(4, 3, activation="relu"), layers.Flatten()]
        if "flatten" in places:
            body.append(layers.Dropout(rate))
        body.append(layers.Dense(8, activation="relu"))
        if "dense" in places:
            body.append(layers.Dropout(rate))
        body.append(layers.Dense(10))
        if "output" in places:
            body.append(layers.Dropout(rate))
        return keras.Sequential(body)
    return build_cnn


def test_ep05_faded_dropout(capsys):
    c = check.ep05.faded
    assert "Right: a Dropout layer on each side" in said(capsys, c, _cnn(0.0))
    assert "after the output layer" in said(capsys, c, _cnn(0.0, ("flatten", "output")))
    assert "not a fixed number" in said(capsys, c, _cnn(0.0, fixed=0.5))
    assert "has no Dropout layer" in said(capsys, c, _cnn(0.0, places=()))
    assert "1 Dropout layers" in said(capsys, c, _cnn(0.0, places=("flatten",)))
    assert "Pass the function itself" in said(capsys, c, 0.5)


def test_every_faded_example_of_the_core_has_a_check():
    """A faded example is an exercise too: the cell after it calls check.epNN.faded."""
    from tools.notebooks import FADED_TAG, episode_sources, from_source, tags
    for md in episode_sources():
        if md.stem[:2] not in ("01", "02", "03", "04", "05"):
            continue
        cells = from_source(md).cells
        for i, cell in enumerate(cells):
            if FADED_TAG in tags(cell):
                after = next(c for c in cells[i + 1:] if c.cell_type == "code")
                assert f"check.ep{md.stem[:2]}.faded(" in after.source, (
                    f"{md.stem}: the faded example at cell {i} has no check under it")


def test_ep04_challenge3_diagnose_the_curves(capsys):
    c = check.ep04.challenge3
    assert "Right: A overfits" in said(capsys, c, A="overfitting", B="cannot learn",
                                       C="underfitting")
    assert "Right" in said(capsys, c, A="Overfits", B="learning rate too large", C="under-fitting")
    assert "Underfitting still learns" in said(capsys, c, A="overfitting", B="underfitting",
                                               C="underfitting")
    assert "C has no gap" in said(capsys, c, A="overfitting", B="cannot learn", C="overfitting")
    assert "a growing gap" in said(capsys, c, A="underfitting", B="cannot learn", C="underfitting")
    assert "C does learn" in said(capsys, c, A="overfitting", B="cannot learn", C="cannot learn")
    assert "use one of" in said(capsys, c, A="overfitting", B="banana", C="underfitting")
    assert "in place of None" in said(capsys, c)


def test_ep11_challenge3_solution_trains_one_epoch_per_cell():
    """The capstone's solution code, run as the learner would paste it (the second part
    twice, as its comment says), trains three epochs, one per cell, numbered on."""
    from types import SimpleNamespace
    code = check.ep11.challenge3.answer
    first, more = code.split("\n\n# In a new cell")
    more = more.split("\n", 1)[1]
    rng = np.random.default_rng(0)
    data = SimpleNamespace(x_train=rng.integers(0, 255, (64, 28, 28, 1), dtype="uint8"),
                           y_train=rng.integers(0, 10, 64),
                           x_val=rng.integers(0, 255, (16, 28, 28, 1), dtype="uint8"),
                           y_val=rng.integers(0, 10, 16))
    ns = {"keras": keras, "data": data, "model": digits(), "plot_history": lambda h: None}
    exec(first, ns)
    exec(more, ns)
    exec(more, ns)
    assert len(ns["history"]["loss"]) == len(ns["history"]["val_accuracy"]) == 3
    assert ns["more"].epoch == [2], "the third epoch is numbered on"
