"""Claims of episode 15 (a model for small devices), on the numbers its executed notebook
reported (see tests/lessonrun.py); they must hold under any seed."""
import pytest

from lessonrun import ROOT, numbers
from tools.notebooks import from_source

SMALL = "15-small-devices"


def test_the_code_needs_only_tensorflow_and_never_touches_the_test_set():
    """The interpreter is TensorFlow's own (LiteRT's package is named in the text only, as
    the place it moves to): the notebook runs wherever the lesson's requirements are."""
    code = "\n".join(c.source for c in from_source(ROOT / "episodes" / f"{SMALL}.md").cells
                     if c.cell_type == "code")
    assert "tf.lite.TFLiteConverter.from_keras_model(model)" in code
    assert "tf.lite.Optimize.DEFAULT" in code and "tf.lite.Interpreter(" in code
    assert "ai_edge_litert" not in code
    assert "x_test" not in code and "y_test" not in code


@pytest.mark.after_notebooks
def test_the_files_shrink_as_the_text_says():
    """The .keras file holds the optimizer's two averages too (about three times the float
    .tflite file); the .tflite file four bytes per weight; the quantized one about one."""
    n = numbers(SMALL)
    assert n["n_val"] == 2000 and n["epochs"] == 5, n
    assert 11.5 < n["keras_bytes_per_param"] < 13, n["keras_bytes_per_param"]
    assert n["keras_mb"] > 2.5 * n["tflite_mb"], "the .keras file is about three times larger"
    assert 4 <= n["tflite_bytes_per_param"] < 4.2, n["tflite_bytes_per_param"]
    assert 1 <= n["quantized_bytes_per_param"] < 1.2, n["quantized_bytes_per_param"]
    assert n["quantized_mb"] < n["tflite_mb"] / 3, "quantization: a file about four times smaller"


@pytest.mark.after_notebooks
def test_the_float_model_matches_keras_within_the_stated_tolerance():
    n = numbers(SMALL)
    assert n["float_diff"] < 1e-4, "the text's tolerance: 0.0001"
    assert n["float_agree"] >= 1 - 1 / n["n_val"], "the same label for (almost) every image"
    assert abs(n["float_acc"] - n["keras_acc"]) <= 1 / n["n_val"] + 1e-9, n


@pytest.mark.after_notebooks
def test_the_quantized_model_rounds_more_yet_keeps_labels_and_accuracy():
    n = numbers(SMALL)
    assert n["float_diff"] < n["quantized_diff"] < 0.5, n
    assert n["quantized_agree"] >= 0.98, "the text's tolerance: 98% of the labels agree"
    assert abs(n["quantized_acc"] - n["keras_acc"]) <= 0.01, "its accuracy matches Keras's"


@pytest.mark.after_notebooks
def test_the_served_signature_returns_the_keras_logits():
    n = numbers(SMALL)
    assert n["serve_batch"] == 64 and n["serve_outputs"] == ["output_0"], n
    assert n["serve_diff"] < 1e-4, n["serve_diff"]


@pytest.mark.after_notebooks
def test_quantization_changes_only_a_few_near_ties():
    """The challenge's answer: the changed labels are few, each had a gap between its two
    largest logits below twice the largest difference, and the median gap is far larger."""
    n = numbers(SMALL)
    assert n["n_changed"] == round((1 - n["quantized_agree"]) * n["n_val"]), n
    assert 1 <= n["n_changed"] <= 0.02 * n["n_val"], "the text: 'a few labels'"
    assert all(g < 2 * n["quantized_diff"] for g in n["changed_gaps"]), n["changed_gaps"]
    assert n["median_gap"] > 4 * n["quantized_diff"], "the median gap is far larger"
