"""Feedback on the exercises, for learners working on their own.

Under each challenge and quick check, an episode has one line such as
``check.ep03.challenge1(...)``. It looks at the learner's own objects (a model's
layers, its compiled loss, a History, a number, the option chosen) and answers in a
sentence or two: right, or which known mistake it looks like and where to look.
``.hint()``, ``.hint(2)`` and ``.solution()`` give more, when the learner asks.

The checks only test what does not depend on the run: shapes, parameter counts,
layer and loss settings, history keys, or an accuracy against a threshold far from
the expected value. A check never raises: a learner alone with a traceback from the
checker is worse off than without it.

Arguments: a learner's object, or its name in quotes for objects that the learner
makes in the attempt (the check cell then runs before the attempt exists, and says
so), or ``None`` in place of an answer still to give. To add a check: write a
function that returns the message, and wrap it in ``Check`` with its hints and
solution, next to the other checks of its episode.
"""
from __future__ import annotations

import math
import sys
from collections import Counter
from types import SimpleNamespace

import numpy as np


class Check:
    """A callable check with its hints and solution (what the learner asks for)."""

    def __init__(self, inspect, hints=(), solution="", names=True):
        self.inspect, self.hints, self.answer, self.names = inspect, list(hints), solution, names
        self.__doc__ = inspect.__doc__

    def __call__(self, *args, **kwargs):
        scope = {**sys._getframe(1).f_globals, **sys._getframe(1).f_locals}
        missing = []

        def resolve(value):
            if self.names and isinstance(value, str) and value.isidentifier():
                if value not in scope:
                    missing.append(value)
                return scope.get(value)
            return value

        args = [resolve(a) for a in args]
        kwargs = {k: resolve(v) for k, v in kwargs.items()}
        if missing:
            message = (f"There is no `{missing[0]}` yet: run your attempt first. "
                       "If you used another name, put it in the quotes.")
        else:
            try:
                message = self.inspect(*args, **kwargs)
            except Exception as error:  # a wrong answer gets a message, not a traceback
                message = (f"The check could not read your answer ({type(error).__name__}: "
                           f"{error}). Try `.hint()`.")
        print(message)

    def hint(self, level=1):
        """Print hint ``level`` (1 is the gentlest)."""
        if not self.hints:
            print("No hint for this one: try `.solution()`.")
            return
        level = max(1, min(int(level), len(self.hints)))
        more = " `.hint(2)` says more." if level < len(self.hints) else ""
        print(self.hints[level - 1] + more)

    def solution(self):
        """Print one right answer."""
        print(self.answer)

    def __repr__(self):
        return (f"<check: {(self.__doc__ or '').strip().splitlines()[0]} "
                "Call it; .hint(), .hint(2) and .solution() help.>")


def quick(right, why, hint):
    """The check of a multiple-choice question: ``why[n]`` explains option ``n``."""
    def inspect(answer=None):
        """Explain the option you chose."""
        if answer is None:
            return "Put the number of your answer in place of None, then run this cell."
        text = str(answer).strip().rstrip(".").lower()
        n = "abcdefgh".index(text) + 1 if text in list("abcdefgh") else int(float(text))
        if n not in why:
            return f"Pick one of the answers: {', '.join(map(str, sorted(why)))}."
        return ("Right. " if n == right else "Not quite. ") + why[n]
    solution = "\n".join([f"Answer {right}. {why[right]}"] + [
        f"Not {n}: {why[n]}" for n in sorted(why) if n != right])
    return Check(inspect, [hint], solution, names=False)


# ------------------------------------------------------------------ shared helpers

def _number(value):
    """A number from an int, float, NumPy scalar, one-element array or "18,496"."""
    if isinstance(value, str):
        value = value.replace(",", "").replace("_", "")
    try:
        return float(np.asarray(value, dtype=float).reshape(-1)[0]) \
            if np.size(value) == 1 else None
    except (TypeError, ValueError):
        return None


def _same(a, b, tol=1e-6):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _history(obj):
    """{quantity: list} of a History, a dict of lists or a DataFrame."""
    if hasattr(obj, "history") and isinstance(obj.history, dict):
        obj = obj.history
    if hasattr(obj, "to_dict"):
        return {k: list(v.values()) for k, v in obj.to_dict().items()}
    return {k: list(v) for k, v in dict(obj).items()}


def _kind(layer):
    return type(layer).__name__


def _shape(model, attr):
    try:
        return tuple(getattr(model, attr))
    except Exception:  # a model without keras.Input has no shapes yet
        return None


def _output_layer(model):
    """The last layer with weights, its activation, and the layers after it."""
    layers = list(model.layers)
    for i in range(len(layers) - 1, -1, -1):
        if _kind(layers[i]) in ("Dense", "Conv2D"):
            after = layers[i + 1:]
            activation = str(layers[i].get_config().get("activation", "linear"))
            for layer in after:
                if _kind(layer) == "Softmax":
                    activation = "softmax"
                elif _kind(layer) == "Activation":
                    activation = str(layer.get_config()["activation"])
            return layers[i], activation, after
    return None, "linear", []


def model_problems(model, image_shape, classes=10):
    """Messages for the known mistakes in a classifier's layers, the most basic first."""
    shape = _shape(model, "input_shape")
    if shape is None:
        return [f"Your model has no input shape. Start it with keras.Input(shape={image_shape})."]
    if shape[1:] != tuple(image_shape):
        if shape[1:] == tuple(image_shape[:-1]):
            return [f"The input shape {shape[1:]} has no channel axis. "
                    f"One image is {image_shape}."]
        if len(shape) == len(image_shape) + 2:
            return ["The input shape includes the number of images. "
                    f"keras.Input takes the shape of one image: {image_shape}."]
        return [f"The input shape is {shape[1:]}, but one image is {image_shape}."]
    problems = []
    out = _shape(model, "output_shape")
    if out is not None and len(out) != 2:
        problems.append(f"The model gives {out[1:]} numbers per image. "
                        "Add Flatten before the Dense layers.")
    elif out is not None and out[-1] != classes:
        problems.append(f"The last layer gives {out[-1]} scores. "
                        f"It needs one per class: {classes}.")
    _, activation, after = _output_layer(model)
    if any(_kind(layer) == "Dropout" for layer in after):
        problems.append("Dropout comes after the output layer, so it drops class scores. "
                        "Put it before the last Dense.")
    if activation in ("relu", "sigmoid"):
        problems.append(f"The last layer has a {activation} activation. "
                        "Leave it linear (logits) or use softmax.")
    scales = [float(layer.scale) for layer in model.layers if _kind(layer) == "Rescaling"]
    if len(scales) > 1:
        problems.append("The model rescales twice, so every pixel ends up tiny. "
                        "Keep one Rescaling layer.")
    elif scales and scales[0] > 1:
        problems.append(f"Rescaling({scales[0]:g}) multiplies the pixels. Use Rescaling(1 / 255).")
    elif not scales:
        problems.append("There is no Rescaling layer, so the model sees values up to 255. "
                        "Add Rescaling(1 / 255) first.")
    return problems


def loss_problems(model):
    """Messages for a loss that does not fit integer labels and the model's last layer."""
    loss = getattr(model, "loss", None)
    if loss is None or getattr(model, "optimizer", None) is None:
        return ["The model is not compiled yet. Call model.compile(...) before fit."]
    name = (loss if isinstance(loss, str)
            else getattr(loss, "name", getattr(loss, "__name__", type(loss).__name__))).lower()
    logits = bool(loss.get_config().get("from_logits")) if hasattr(loss, "get_config") else False
    _, activation, _ = _output_layer(model)
    if "crossentropy" not in name.replace("_", ""):
        return [f"The loss {name} is not for classes. Use SparseCategoricalCrossentropy."]
    if "binary" in name:
        return ["Binary cross-entropy is for two classes. Use SparseCategoricalCrossentropy."]
    if "sparse" not in name:
        return ["CategoricalCrossentropy wants one-hot labels, but the labels are integers. "
                "Use SparseCategoricalCrossentropy."]
    if logits and activation == "softmax":
        return ["The last layer has a softmax and the loss has from_logits=True: "
                "softmax twice. Use one of them."]
    if not logits and activation != "softmax":
        return ["The last layer gives logits, but the loss expects probabilities. "
                "Add from_logits=True to the loss."]
    return []


# ------------------------------------------------------------------ episode 1

WEIGHTS, BIAS = np.array([1.5, -0.5, 2.0]), -0.3


def _neuron(inputs, weighted_sum, output):
    """Episode 1, challenge 1: the neuron with inputs [0.1, 0.9, 0.0]."""
    inputs = np.asarray(inputs, dtype=float)
    if np.allclose(inputs, [0.2, 0.8, 0.5]):
        return "These are still the first neuron's inputs. Set inputs to [0.1, 0.9, 0.0]."
    if inputs.shape != (3,) or not np.allclose(inputs, [0.1, 0.9, 0.0]):
        return f"Your inputs are {inputs.tolist()}. The challenge asks for [0.1, 0.9, 0.0]."
    right = float(inputs @ WEIGHTS + BIAS)
    s, out = _number(weighted_sum), _number(output)
    if _same(s, right - BIAS):
        return "The weighted sum leaves out the bias. Add the bias, -0.3, to the sum."
    if _same(s, 0.6):
        return "weighted_sum still comes from the old inputs. Run the line that computes it again."
    if not _same(s, right):
        return f"The weighted sum should be {right:.2f}. Multiply each input by its weight, then add the bias."
    if _same(out, right):
        return "The output is negative: ReLU is missing. The output is max(weighted_sum, 0)."
    if _same(out, 0.6):
        return "output still comes from the old sum. Run the line that computes it again."
    if not _same(out, 0.0):
        return "The output should be ReLU of the sum: max(weighted_sum, 0)."
    return ("Right: the sum is -0.6, so ReLU outputs 0. "
            "The neuron stays silent for inputs that do not match its weights.")


def _edge_response(kernel):
    """How strongly a 3x3 kernel answers a top-dark/bottom-bright and a left/right step."""
    step = np.array([[0, 0, 0], [0, 0, 0], [1, 1, 1]], dtype=float)
    return float(np.sum(kernel * step)), float(np.sum(kernel * step.T))


def _horizontal(kernel):
    """Episode 1, challenge 2: a filter for horizontal edges."""
    kernel = np.asarray(kernel, dtype=float)
    if kernel.shape != (3, 3):
        return f"The filter has shape {kernel.shape}. A filter here is a 3 by 3 array."
    vertical = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    if np.array_equal(kernel, vertical):
        return "This is still the vertical filter. Turn it on its side with `.T`."
    if np.array_equal(kernel, -vertical):
        return "Negating only flips the sign: it still finds vertical edges. Transpose it instead."
    down, across = _edge_response(kernel)
    if abs(across) > abs(down):
        return "Your filter answers vertical edges more than horizontal ones. Try `vertical_edges.T`."
    if down < 0:
        return ("It finds horizontal edges, with the sign flipped: "
                "positive where the image gets darker downwards. Try `vertical_edges.T`.")
    return "Right: it is large where the image gets brighter from top to bottom."


ep01 = SimpleNamespace(
    quick_check=quick(3, {
        1: "A filter's weights are learned. Only our vertical-edge example was chosen by hand.",
        2: "Biases are parameters too. Training adjusts them like the weights.",
        3: "The images are the data. Training changes only the weights and biases.",
    }, "Ask which numbers belong to the network, and which ones to the data."),
    challenge1=Check(_neuron, [
        "Change only the inputs line, then run the two lines that compute the sum and output.",
        "0.1 * 1.5 + 0.9 * (-0.5) + 0.0 * 2.0 - 0.3 is negative. What does ReLU do then?",
    ], "inputs = np.array([0.1, 0.9, 0.0])\n"
       "weighted_sum = np.sum(inputs * weights) + bias   # -0.6\n"
       "output = max(weighted_sum, 0.0)                  # 0: the neuron says no"),
    challenge2=Check(_horizontal, [
        "A horizontal edge is the vertical one turned by a quarter.",
        "`vertical_edges.T` swaps rows and columns: -1, -2, -1 on top, 1, 2, 1 below.",
    ], "horizontal_edges = vertical_edges.T\n"
       "feature_map_h = np.sum(patches * horizontal_edges, axis=(2, 3))\n"
       "show_feature_map(truck, feature_map_h, \"horizontal edges (feature map)\")"),
)


# ------------------------------------------------------------------ episode 2

def _test_counts(counts):
    """Episode 2, challenge 1: the number of test images of each class."""
    arr = np.asarray(list(counts.values()) if isinstance(counts, dict) else counts)
    if arr.ndim > 1 and arr.shape[-1] == 3:
        return "These look like images, not labels. Count the labels in data.y_test."
    if arr.size > 20:  # labels or class names, one per image: count them here
        values = list(Counter(arr.ravel().tolist()).values())
    else:
        values = [int(v) for v in arr.ravel()]
    total = sum(values)
    if total == 10000 and len(values) == 10 and set(values) == {1000}:
        return ("Right: 1,000 test images per class, balanced. "
                "Now look at the order of the first twenty labels.")
    if total > 100000:
        return "That total is far too large: you counted pixel values. Count data.y_test."
    if total < 10000 and len(values) < 10:
        return (f"You counted only {total} images, a slice of the test set. "
                "Count all of data.y_test, then look at the order.")
    if set(values) == {500}:
        return "These are the training set's counts. Count data.y_test instead."
    if set(values) == {200}:
        return "These are the validation set's counts. Count data.y_test instead."
    return f"Your counts add up to {total}. The test set has 10,000 images; count data.y_test."


def _twice(value):
    """Episode 2, challenge 2: the largest value after rescaling twice."""
    top = float(np.max(np.asarray(value, dtype=float)))
    if _same(top, 1 / 255, 1e-3):
        return "Right: about 0.0039, every image almost black. Rescale once: NumPy or the layer."
    if _same(top, 1.0, 1e-3):
        return ("That is rescaled once. Apply the layer to `x_train`, "
                "which is already divided by 255.")
    if _same(top, 255.0, 1e-3):
        return "These are raw pixels: nothing was rescaled. Apply `rescale` to `x_train`."
    if _same(top, 1 / 255 ** 2, 1e-3):
        return "That is rescaled three times. Apply the layer once, to `x_train`."
    return f"The largest value is {top:g}. Expected about 1/255: apply `rescale` to `x_train`."


ep02 = SimpleNamespace(
    quick_check=quick(2, {
        1: "A set is used as soon as a choice depends on it, not only in training.",
        2: "Choosing by the test set fits your choice to it. Choose on the validation set.",
        3: "Training on the test images would leave no honest set to measure with.",
    }, "Ask what the test score is meant to estimate, and whether your choice changed it."),
    challenge1=Check(_test_counts, [
        "Turn each label of data.y_test into its class name, then use value_counts.",
        "Print data.y_test[:20]. Are the labels mixed, or in order?",
    ], "test_classes = pd.Series([data.class_names[y] for y in data.y_test])\n"
       "print(test_classes.value_counts())   # 1,000 of each class\n"
       "print(data.y_test[:20])              # all 0: the test set is sorted by class"),
    challenge2=Check(_twice, [
        "`x_train` is already divided by 255. Apply `rescale` to it once more.",
        "twice = rescale(x_train[:100]); print(float(keras.ops.max(twice)))",
    ], "twice = rescale(x_train[:100])\n"
       "print(float(keras.ops.max(twice)))   # 1/255: every image almost black"),
)


# ------------------------------------------------------------------ episode 3

def _counts(second_conv=None, first_dense=None, first_conv_grey=None):
    """Episode 3, challenge 1: three parameter counts worked out by hand."""
    # For each count: the right value, then {a known wrong value: what it reveals}.
    known = {
        "second_conv": (second_conv, 18496, {
            18432: "second Conv2D: you left out the 64 biases, one per filter.",
            1792: "second Conv2D: its input has 32 channels, the first layer's filters, not 3.",
            36928: "second Conv2D: that is the third one, with 64 input channels.",
            896: "second Conv2D: that is the first Conv2D layer."}),
        "first_dense": (first_dense, 131200, {
            131072: "first Dense: you left out the 128 biases, one per unit.",
            393344: "first Dense: Flatten gives 4 x 4 x 64 numbers, not the whole image.",
            1024: "first Dense: 1024 is what Flatten gives; multiply by the 128 units.",
            1290: "first Dense: that is the last Dense layer, with 10 units."}),
        "first_conv_grey": (first_conv_grey, 320, {
            288: "grey first Conv2D: you left out the 32 biases.",
            896: "grey first Conv2D: 896 is for colour. Grey images have one channel."}),
    }
    if all(value is None for value, _, _ in known.values()):
        return "Put your three counts in place of None, then run this cell."
    lines = []
    for name, (value, right, wrong) in known.items():
        n = _number(value)
        if value is None:
            lines.append(f"{name}: put your count in place of None.")
        elif n == right:
            lines.append(f"{name}: right, {right:,}.")
        else:
            lines.append(wrong.get(n, f"{name}: not {value}. Use k x k x c x f + f, or n x u + u."))
    return "\n".join(lines)


def _deeper(deeper):
    """Episode 3, challenge 2: a dense-only network with a second Dense(128)."""
    added = _number(deeper)
    if added is not None:
        if added == 16512:
            return "Right: 128 x 128 weights and 128 biases. The first layer still sees pixels alone."
        if added == 16384:
            return "You left out the new layer's 128 biases."
        if added == 411146:
            return "That is the whole deeper network. Subtract the dense-only network's count."
        return f"Not {added:g}. The new layer gets 128 inputs and has 128 units."
    problems = model_problems(deeper, (32, 32, 3))
    if problems:
        return " ".join(problems)
    kinds = [_kind(layer) for layer in deeper.layers]
    if any(k.startswith("Conv") for k in kinds):
        return "That model has a convolution. The challenge adds a second Dense layer."
    if "Flatten" in kinds and "Dense" in kinds[:kinds.index("Flatten")]:
        return "A Dense layer before Flatten works on each pixel alone. Put it after Flatten."
    dense = [layer.units for layer in deeper.layers if _kind(layer) == "Dense"]
    if dense[:-1] != [128, 128]:
        return f"The hidden Dense layers have {dense[:-1]} units. The challenge asks for two of 128."
    return ("Right: it adds 16,512 parameters, 128 x 128 + 128. "
            "The first layer still treats each pixel as unrelated.")


ep03 = SimpleNamespace(
    quick_check=quick(2, {
        1: "Padding changes the shape: with \"same\", a convolution keeps the size.",
        2: "Convolutions keep 32 x 32, and the two poolings halve it to 16, then 8.",
        3: "Padding keeps the size through convolutions, but pooling still halves it.",
    }, "Follow the size layer by layer: which layers change it with padding=\"same\"?"),
    challenge1=Check(_counts, [
        "The second Conv2D gets the 32 feature maps of the first as its channels.",
        "Flatten gives 4 x 4 x 64 = 1024 numbers. A grey image has c = 1.",
    ], "second Conv2D: 3 * 3 * 32 * 64 + 64 = 18,496\n"
       "first Dense:   1024 * 128 + 128   = 131,200\n"
       "first Conv2D on grey images: 3 * 3 * 1 * 32 + 32 = 320\n"
       "check.ep03.challenge1(18496, 131200, 320)"),
    challenge2=Check(_deeper, [
        "Copy dense_model's layers and add Dense(128, activation=\"relu\") after the first one.",
        "The new layer has 128 inputs and 128 units: 128 x 128 weights, plus biases.",
    ], "deeper = keras.Sequential([\n"
       "    keras.Input(shape=(32, 32, 3)),\n"
       "    keras.layers.Rescaling(1 / 255),\n"
       "    keras.layers.Flatten(),\n"
       "    keras.layers.Dense(128, activation=\"relu\"),\n"
       "    keras.layers.Dense(128, activation=\"relu\"),\n"
       "    keras.layers.Dense(10),\n"
       "])\n"
       "deeper.count_params() - dense_model.count_params()   # 16,512"),
)


# ------------------------------------------------------------------ episode 4

def _stop(best_loss_epoch, best_acc_epoch, history):
    """Episode 4, challenge 1: the epochs of the lowest validation loss and best accuracy."""
    h = _history(history)
    epoch = lambda values, pick: int(pick(values)) + 1  # noqa: E731 (epochs count from 1)
    right = {"loss": epoch(h["val_loss"], np.argmin), "accuracy": epoch(h["val_accuracy"], np.argmax)}
    wrong = {
        "loss": {right["loss"] - 1: "the row index, counted from 0. Epochs count from 1.",
                 epoch(h["loss"], np.argmin): "the lowest training loss. Use the val_loss column.",
                 epoch(h["val_loss"], np.argmax): "the highest validation loss. You want the lowest."},
        "accuracy": {right["accuracy"] - 1: "the row index, counted from 0. Epochs count from 1.",
                     epoch(h["accuracy"], np.argmax): "the best training accuracy. Use val_accuracy.",
                     epoch(h["val_accuracy"], np.argmin): "the worst validation accuracy."},
    }
    lines = []
    for what, value in (("loss", best_loss_epoch), ("accuracy", best_acc_epoch)):
        n = _number(value)
        if n is None or n != int(n):
            lines.append(f"The {what} epoch {value} is not an epoch number. "
                         "idxmin and idxmax say where, min and max say what.")
        elif n == right[what]:
            lines.append(f"Best validation {what}: epoch {right[what]}, right.")
        else:
            lines.append(f"For the {what}, epoch {int(n)} is " +
                         wrong[what].get(int(n), "not the one: look at the validation column."))
    if all(line.endswith("right.") for line in lines) and max(right.values()) < len(h["val_loss"]):
        lines.append("Both are earlier than the last epoch: an earlier model was better.")
    return "\n".join(lines)


def _learning_rates(results):
    """Episode 4, challenge 2: validation accuracy after 3 epochs at two learning rates."""
    if not isinstance(results, dict):
        return "Put your results in a dict: {0.1: accuracy, 0.00001: accuracy}."
    rates = {_number(k): v for k, v in results.items()}
    found = {want: next((v for r, v in rates.items() if _same(r, want)), None)
             for want in (0.1, 1e-5)}
    if found[1e-5] is None and any(_same(r, 1e-4) for r in rates):
        return "0.0001 is not 0.00001: count the zeros. Train with 0.00001."
    if None in found.values():
        return "Train with both 0.1 and 0.00001, and put both in the dict."
    acc = {}
    for rate, value in found.items():
        if hasattr(value, "history"):
            model, h = getattr(value, "model", None), _history(value)
            if len(h.get("loss", [])) != 3:
                return f"The run at {rate:g} trained {len(h.get('loss', []))} epochs. Train 3."
            if model is not None and not _same(float(model.optimizer.learning_rate), rate, 1e-4):
                return (f"The model of the {rate:g} run has learning rate "
                        f"{float(model.optimizer.learning_rate):g}. Use Adam(learning_rate=lr).")
            if model is not None and loss_problems(model):
                return loss_problems(model)[0]
            value = h["val_accuracy"][-1]
        acc[rate] = _number(value)
    if acc[1e-5] > 0.45:
        return ("The 0.00001 run is too good for three slow epochs: it continued a trained model. "
                "Call build_cnn() for each run.")
    if acc[0.1] > 0.3:
        return ("Your 0.1 run learned, which is unusual. "
                "Did the learning rate reach the optimizer? \"adam\" alone ignores it.")
    return ("Right: at 0.1 the model guesses, about one image in ten. "
            "At 0.00001 it learns, but crawls.")


def _faded_fit(history):
    """Episode 4's faded example: fit with the validation data, for the first 10 epochs."""
    h = _history(history)
    if not h:
        return "That history is empty: run the fit cell first."
    if "val_loss" not in h or "val_accuracy" not in h:
        return ("fit got no validation data: the history has no val_loss. "
                "Fill the first blank with (data.x_val, data.y_val).")
    epochs = len(h["val_loss"])
    if epochs != 10:
        return (f"It ran {epochs} epochs; this cell trains 10. "
                "Did you build a fresh model first? fit continues a trained one.")
    return "Right: 10 epochs, with the validation data measured after each one."


def _diagnosis(word):
    """'overfitting', 'underfitting' or 'cannot learn' for a learner's own words."""
    word = str(word).lower()
    if "over" in word:
        return "overfitting"
    if "under" in word or "not done" in word or "too small" in word:
        return "underfitting"
    if any(w in word for w in ("cannot", "can't", "not learn", "stuck", "large", "nothing")):
        return "cannot learn"
    return None


DIAGNOSES = {"A": "overfitting", "B": "cannot learn", "C": "underfitting"}
WHY_NOT = {  # (run, a wrong diagnosis): what the curves show instead
    ("A", "underfitting"): "A's training accuracy keeps climbing past its validation accuracy: a growing gap.",
    ("A", "cannot learn"): "A learns fast at first: both accuracies climb. Then they part.",
    ("B", "underfitting"): "B does not improve at all: it stays at chance. Underfitting still learns.",
    ("B", "overfitting"): "B has no gap: both curves stay flat at chance, the same answer for every image.",
    ("C", "overfitting"): "C has no gap: training and validation move together, slowly.",
    ("C", "cannot learn"): "C does learn: both accuracies climb, slowly. It is not done yet.",
}


def _diagnose(A=None, B=None, C=None):
    """Episode 4, challenge 3: diagnose three learning curves."""
    given = {"A": A, "B": B, "C": C}
    if any(v is None for v in given.values()):
        return ("Put a diagnosis for each run in place of None: "
                "\"overfitting\", \"underfitting\" or \"cannot learn\".")
    read = {run: _diagnosis(v) for run, v in given.items()}
    unknown = [run for run, d in read.items() if d is None]
    if unknown:
        return (f"Run {unknown[0]}: use one of \"overfitting\", \"underfitting\" "
                "or \"cannot learn\".")
    wrong = [run for run in "ABC" if read[run] != DIAGNOSES[run]]
    if wrong:
        return " ".join(WHY_NOT[run, read[run]] for run in wrong)
    return ("Right: A overfits (learning rate 0.001), B cannot learn (0.1, far too large), "
            "C underfits (0.00001, too small: not done after 20 epochs).")


ep04 = SimpleNamespace(
    challenge3=Check(_diagnose, [
        "Look at the gap between the curves, and at whether they move at all.",
        "Flat at chance: cannot learn. Together, still falling: underfitting. "
        "A growing gap: overfitting.",
    ], "check.ep04.challenge3(A=\"overfitting\", B=\"cannot learn\", C=\"underfitting\")",
        names=False),
    faded=Check(_faded_fit, [
        "validation_data takes a pair: the validation images and their labels.",
        "validation_data=(data.x_val, data.y_val), epochs=10",
    ], "validation_data=(data.x_val, data.y_val),\nepochs=10,"),
    quick_check=quick(2, {
        1: "A larger gradient makes each step longer, so it jumps over the bottom.",
        2: "The step is learning rate times gradient: ten times steeper, ten times longer.",
        3: "In plain gradient descent the step is the learning rate times the gradient.",
    }, "Write out one step, w - learning_rate * gradient, for the steeper bowl."),
    challenge1=Check(_stop, [
        "df[\"val_loss\"].idxmin() gives the row of the lowest validation loss.",
        "Rows count from 0, epochs from 1: read the epoch column of that row.",
    ], "best_loss_epoch = df.loc[df[\"val_loss\"].idxmin(), \"epoch\"]\n"
       "best_acc_epoch = df.loc[df[\"val_accuracy\"].idxmax(), \"epoch\"]"),
    challenge2=Check(_learning_rates, [
        "Build a fresh model with build_cnn() for each rate, then compile and fit.",
        "Pass the rate to the optimizer: keras.optimizers.Adam(learning_rate=lr).",
    ], "lr_results = {}\n"
       "for lr in [0.1, 0.00001]:\n"
       "    m = build_cnn()\n"
       "    m.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),\n"
       "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
       "              metrics=[\"accuracy\"])\n"
       "    h = m.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),\n"
       "              epochs=3, batch_size=64, verbose=2)\n"
       "    lr_results[lr] = h.history[\"val_accuracy\"][-1]"),
)


# ------------------------------------------------------------------ episode 5

def _dropout_scale(x, out):
    """Episode 5, challenge 1: what a Dropout layer returns with training=False."""
    x, out = np.asarray(x, dtype=float), np.asarray(out, dtype=float)
    if x.shape != out.shape:
        return f"`out` has shape {out.shape}, `x` has {x.shape}. Pass dropout(x, training=False)."
    if np.allclose(out, x):
        return ("Right: with training=False the layer passes x unchanged. "
                "In training it doubles the kept units, so the average matches.")
    kept = out[out != 0] / x[out != 0] if np.any(out != 0) else np.array([])
    if np.any(out == 0) and kept.size and np.allclose(kept, kept[0]) and kept[0] > 1:
        return ("That is the training=True output: some zeros, the rest scaled up. "
                "Call it with training=False.")
    if np.allclose(out, x / 2):
        return ("Halved outputs are the old recipe: scale at prediction time. "
                "Keras scales during training instead.")
    return "`out` differs from `x`. With training=False, Dropout should return x unchanged."


def _dropout_rate(summaries, choice=None):
    """Episode 5, challenge 2: the dropout rate chosen from the runs' summaries."""
    if not isinstance(summaries, dict) or not summaries:
        return "Pass the dict of summaries: {rate: summarise(model, history)}."
    for rate, s in summaries.items():
        if "best validation accuracy" not in s or "training accuracy" not in s:
            return f"The summary of rate {rate} lacks keys. Make it with summarise(model, history)."
        if _same(s["training accuracy"], s.get("fit's training accuracy")):
            return (f"Rate {rate}: the training accuracy is fit's running mean. "
                    "Measure it with evaluate, as summarise does.")
    missing = [r for r in (0.25, 0.75) if not any(_same(_number(k), r) for k in summaries)]
    if missing:
        have = ", ".join(f"{_number(k):g}" for k in sorted(summaries))
        return (f"You have the rates {have} so far. "
                f"Train {' and '.join(map(str, missing))} too, then run this again.")
    if choice is None:
        return "All four rates are there. Put the rate you choose in place of None."
    chosen = next((s for k, s in summaries.items() if _same(_number(k), _number(choice))), None)
    if chosen is None:
        return f"You did not train the rate {choice}. Choose one of the rates you trained."
    best = max(s["best validation accuracy"] for s in summaries.values())
    smallest_gap = min(s["gap"] for s in summaries.values())
    if chosen["best validation accuracy"] >= best - 0.02:
        return ("Right: that rate has about the best validation accuracy. "
                "Differences this small could change with the seed.")
    if _same(chosen["gap"], smallest_gap):
        return ("The smallest gap is not the goal: that rate learns too slowly. "
                "Choose by validation accuracy.")
    return "Other rates reach a clearly higher validation accuracy. Choose by that."


def _faded_dropout(build_cnn):
    """Episode 5's faded example: Dropout(dropout) around the large Dense layer."""
    if not callable(build_cnn):
        return "Pass the function itself: check.ep05.faded(build_cnn)."
    kinds = [_kind(layer) for layer in build_cnn(dropout=0.3).layers]
    rates = [layer.rate for layer in build_cnn(dropout=0.3).layers if _kind(layer) == "Dropout"]
    if not rates:
        return "Your model has no Dropout layer. Each blank is one Dropout layer."
    if kinds[-1] == "Dropout":
        return ("A Dropout layer after the output layer switches off answers, not features. "
                "Put it before the output.")
    if any(not _same(r, 0.3) for r in rates):
        return ("build_cnn(dropout=0.3) gave rates " + ", ".join(f"{r:g}" for r in rates)
                + ": use the argument, Dropout(dropout), not a fixed number.")
    if len(rates) != 2:
        return f"Your model has {len(rates)} Dropout layers; the episode puts two around Dense(128)."
    return "Right: a Dropout layer on each side of Dense(128), at the rate you ask for."


ep05 = SimpleNamespace(
    faded=Check(_faded_dropout, [
        "Each blank is one layer: keras.layers.Dropout with the function's argument.",
        "keras.layers.Dropout(dropout), once before and once after Dense(128).",
    ], "keras.layers.Dropout(dropout),   # after Flatten\n"
       "keras.layers.Dropout(dropout),   # after Dense(128), before Dense(10)"),
    quick_check=quick(2, {
        1: "fit measured the training accuracy with half the units off. evaluate shows a wider gap.",
        2: "Measure the training accuracy with model.evaluate, which uses all units.",
        3: "That number was measured with units switched off, so it says little.",
    }, "Ask how fit measures its training accuracy while dropout is on."),
    challenge1=Check(_dropout_scale, [
        "Make x = np.ones((1, 10), dtype=\"float32\") and out = dropout(x, training=False).",
        "Compare out with x. Then look at dropout(x, training=True): what are the kept values?",
    ], "x = np.ones((1, 10), dtype=\"float32\")\n"
       "out = dropout(x, training=False)   # unchanged: all ones\n"
       "# training=True zeroes about half and doubles the rest: the same total on average"),
    challenge2=Check(_dropout_rate, [
        "Run each rate in its own cell: m = build_cnn(dropout=0.25), then summarise it.",
        "Choose the rate with the best validation accuracy, not the smallest gap.",
    ], "m = build_cnn(dropout=0.25)\n"
       "summaries[0.25] = summarise(m, compile_and_fit(m).history)\n"
       "m = build_cnn(dropout=0.75)\n"
       "summaries[0.75] = summarise(m, compile_and_fit(m).history)\n"
       "check.ep05.challenge2(summaries, choice=0.5)   # 0.25 or 0.5: best validation"),
)


# ------------------------------------------------------------------ episode 11, the capstone

def _digits_model(build_model):
    """Episode 11, challenge 2: a CNN for MNIST digits."""
    if not hasattr(build_model, "layers"):
        try:
            build_model = build_model()
        except Exception as error:
            text = str(error)
            if "ndim" in text:
                return ("Building the model failed on the number of dimensions. "
                        "keras.Input takes one image: (28, 28, 1).")
            if "negative" in text or "zero" in text:
                return "The images shrank below one pixel. Use fewer pooling layers."
            return f"Building the model failed: {text.splitlines()[0]}"
    problems = model_problems(build_model, (28, 28, 1))
    if problems:
        return " ".join(problems)
    n = build_model.count_params()
    if n > 1_000_000:
        return f"{n:,} parameters will be slow on a CPU. Pool more, or use a smaller Dense."
    return (f"Right: input (28, 28, 1), ten outputs, rescaled once. "
            f"{n:,} parameters suit the time budget.")


def _digits_training(model, history):
    """Episode 11, challenge 3: the compiled model and its training run."""
    problems = model_problems(model, (28, 28, 1)) + loss_problems(model)
    if problems:
        return " ".join(problems)
    h = _history(history)
    if "val_accuracy" not in h:
        return ("The history has no validation accuracy. Pass validation_data and "
                "metrics=[\"accuracy\"].")
    val = h["val_accuracy"][-1]
    if val < 0.2:
        return "Validation accuracy is at chance. Check the learning rate, and the labels you fit on."
    if val < 0.9:
        return "A small CNN should do far better on digits. Train longer, or compare with the hints."
    if h["accuracy"][-1] - val > 0.03:
        return "Training is clearly above validation: the model starts to overfit. Try dropout."
    if val < 0.99:
        return (f"Validation accuracy {val:.3f}: below the goal of 0.99. Improve the model "
                "and compare on validation; keep the test set for the end.")
    return "Right: it reaches the goal on validation and does not overfit."


def _digits_test(test_acc, history):
    """Episode 11, challenge 4: the test accuracy, measured once."""
    if isinstance(test_acc, (list, tuple)):
        test_acc = test_acc[-1]  # evaluate returns [loss, accuracy]
    acc, h = _number(test_acc), _history(history)
    if acc > 1:
        return ("That is larger than one: a percentage, or the loss. "
                "Pass the accuracy as a fraction.")
    if _same(acc, h.get("val_accuracy", [None])[-1]):
        return "That is the validation accuracy. Evaluate on data.x_test and data.y_test."
    if _same(acc, h.get("accuracy", [None])[-1]):
        return "That is the training accuracy. Evaluate on data.x_test and data.y_test."
    val = h.get("val_accuracy", [acc])[-1]
    if acc < val - 0.01:
        return (f"Right, measured once: {acc:.4f}, clearly below validation ({val:.4f}). "
                "Report it as it is; choosing again now would use the test set to choose.")
    return (f"Right, measured once: {acc:.4f}. Test and validation accuracy are close: "
            "both sets are new to the model.")


def _digits_data(n_train=None, image_shape=None, n_classes=None):
    """Episode 11, challenge 1: what the data look like."""
    if n_train is None or image_shape is None or n_classes is None:
        return "Put your answers in place of None: n_train, image_shape and n_classes."
    n, classes = _number(n_train), _number(n_classes)
    shape = tuple(int(d) for d in image_shape) if np.ndim(image_shape) else None
    if n == 60000:
        return ("60,000 is MNIST's official training split. The lesson carves its "
                "validation set out of it: count data.x_train.")
    if n != 48000:
        return "Count the training images with len(data.x_train) or data.x_train.shape[0]."
    if shape == (28, 28):
        return ("One image has a channel axis too: (28, 28, 1). "
                "The loader adds it, because Conv2D needs it.")
    if shape and len(shape) == 4:
        return "That is the shape of the whole set. One image is data.x_train[0].shape."
    if shape != (28, 28, 1):
        return "Look at data.x_train[0].shape: height, width, channels."
    if classes != 10:
        return "Count the classes with len(data.class_names), or np.unique(data.y_train)."
    return "Right: 48,000 training images of shape (28, 28, 1), in ten balanced classes."


ep11 = SimpleNamespace(
    challenge1=Check(_digits_data, [
        "len(data.x_train), data.x_train[0].shape and len(data.class_names) answer the three.",
        "np.bincount(data.y_train) counts the images per class: are the counts close?",
    ], "print(len(data.x_train), len(data.x_val), len(data.x_test))\n"
       "print(data.x_train[0].shape, data.x_train.dtype, data.x_train.min(), data.x_train.max())\n"
       "print(np.bincount(data.y_train))\n"
       "check.ep11.challenge1(n_train=48000, image_shape=(28, 28, 1), n_classes=10)", names=False),
    challenge2=Check(_digits_model, [
        "Start from episode 3's build_cnn: change the input shape to one grey image.",
        "MNIST images are (28, 28, 1). Two Conv2D and pooling blocks are plenty.",
    ], "def build_model():\n"
       "    return keras.Sequential([\n"
       "        keras.Input(shape=(28, 28, 1)),\n"
       "        layers.Rescaling(1 / 255),\n"
       "        layers.Conv2D(32, 3, activation=\"relu\"),\n"
       "        layers.MaxPooling2D(),\n"
       "        layers.Conv2D(64, 3, activation=\"relu\"),\n"
       "        layers.MaxPooling2D(),\n"
       "        layers.Flatten(),\n"
       "        layers.Dropout(0.25),\n"
       "        layers.Dense(10),\n"
       "    ])"),
    challenge3=Check(_digits_training, [
        "Compile as in episode 4, and fit with validation_data=(data.x_val, data.y_val).",
        "A last layer without activation needs from_logits=True in the loss.",
    ], "model.compile(optimizer=\"adam\",\n"
       "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
       "              metrics=[\"accuracy\"])\n"
       "history = model.fit(data.x_train, data.y_train, epochs=1, batch_size=128,\n"
       "                    validation_data=(data.x_val, data.y_val), verbose=2).history\n"
       "\n"
       "# In a new cell, run twice: one more epoch each time, so no cell takes long.\n"
       "done = len(history[\"loss\"])\n"
       "more = model.fit(data.x_train, data.y_train, initial_epoch=done, epochs=done + 1,\n"
       "                 batch_size=128, validation_data=(data.x_val, data.y_val), verbose=2)\n"
       "history = {key: history[key] + more.history[key] for key in history}\n"
       "plot_history(history)"),
    challenge4=Check(_digits_test, [
        "model.evaluate returns the loss and the accuracy.",
        "test_loss, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)",
    ], "test_loss, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)\n"
       "print(test_acc, history.history[\"val_accuracy\"][-1])"),
)
