"""Plotting helpers, for use once episode 4 has taught the code they contain.

Episode 4 builds these plots step by step: ``History.history`` -> pandas DataFrame
-> seaborn line plot. Later episodes call these functions instead of repeating it.
"""
from __future__ import annotations


def history_frame(history, name=None):
    """A long-form DataFrame of a Keras ``History``: epoch, metric, split, value."""
    import numpy as np
    import pandas as pd

    # The same steps as episode 4: History.history -> DataFrame -> long form.
    hist = history.history if hasattr(history, "history") else dict(history)
    df = pd.DataFrame(hist)
    df["epoch"] = range(1, len(df) + 1)
    long = df.melt(id_vars="epoch", var_name="column", value_name="value")
    long["split"] = np.where(long["column"].str.startswith("val_"), "validation", "training")
    long["metric"] = long["column"].str.removeprefix("val_")
    if name is not None:
        long["model"] = name
    return long.drop(columns="column")


def plot_history(history, metrics=("loss", "accuracy"), title=None):
    """Training and validation curves of one run, one panel per metric."""
    import matplotlib.pyplot as plt

    long = history_frame(history)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _panel(ax, long[long["metric"] == metric], metric, metric)
    return _finish(fig, title)


def _panel(ax, frame, ylabel, title):
    """One panel: training and validation curves over whole-numbered epochs."""
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    sns.lineplot(data=frame, x="epoch", y="value", hue="split", marker="o", ax=ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _finish(fig, title):
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_histories(histories, metric="accuracy", title=None):
    """Curves of several runs side by side: ``{"name": history, ...}``."""
    import matplotlib.pyplot as plt
    import pandas as pd

    long = pd.concat([history_frame(h, name) for name, h in histories.items()])
    long = long[long["metric"] == metric]
    fig, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5),
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], histories):
        _panel(ax, long[long["model"] == name], metric, name)
    return _finish(fig, title)
