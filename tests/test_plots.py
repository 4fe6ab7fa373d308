"""The plotting helpers that later episodes use after episode 4 taught their code."""
import matplotlib

matplotlib.use("agg")

from cnnlesson.plots import compare_histories, history_frame, plot_history  # noqa: E402

HISTORY = {"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.45, 0.6],
           "val_loss": [1.9, 1.6, 1.7], "val_accuracy": [0.32, 0.41, 0.43]}


def test_history_frame_is_long_form():
    df = history_frame(HISTORY, name="intro")
    assert len(df) == 12 and set(df["split"]) == {"training", "validation"}
    assert set(df["metric"]) == {"loss", "accuracy"} and set(df["model"]) == {"intro"}
    row = df[(df.epoch == 3) & (df.metric == "loss") & (df.split == "validation")]
    assert row["value"].item() == 1.7


def test_plots_have_whole_epoch_ticks_and_both_curves():
    fig = plot_history(HISTORY, title="run")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and ax.get_title() == "loss"
    assert all(float(t).is_integer() for t in ax.get_xticks())
    assert len(ax.get_lines()) >= 2
    fig2 = compare_histories({"a": HISTORY, "b": HISTORY}, metric="accuracy")
    assert [a.get_title() for a in fig2.axes] == ["a", "b"]
