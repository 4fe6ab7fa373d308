"""Set-up report and the table of numbers that an episode's text quotes."""
from __future__ import annotations

import json
import os
import platform


def setup_report():
    """Versions of the lesson's main packages and the device TensorFlow will use.

    Returns a dict (displayed as a table in a notebook) so that a learner can
    compare it with the lesson's set-up page, and the tests can read it.
    """
    import importlib.metadata as md

    import tensorflow as tf

    report = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "pandas", "seaborn", "matplotlib",
                "scikit-learn"):
        try:
            report[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            report[pkg] = "not installed"
    gpus = tf.config.list_physical_devices("GPU")
    report["device"] = f"GPU ({len(gpus)}: {gpus[0].name})" if gpus else "CPU only"
    report["cpu cores"] = os.cpu_count()
    return report


class QuotedNumbers(dict):
    """The numbers an episode's text quotes, measured by this run.

    Shown as a small table in the notebook (compare them with the text: yours will
    differ a little from the lesson's on another machine) and carried as JSON in
    the notebook's output, where the lesson's tests read them.
    """

    def _repr_mimebundle_(self, include=None, exclude=None):
        def fmt(v):
            return f"{v:.4g}" if isinstance(v, float) else str(v)
        rows = "".join(f"<tr><td>{k}</td><td>{fmt(v)}</td></tr>" for k, v in self.items())
        html = (f"<table><thead><tr><th>number quoted in the text</th>"
                f"<th>this run</th></tr></thead><tbody>{rows}</tbody></table>")
        text = "\n".join(f"{k}: {fmt(v)}" for k, v in self.items())
        return {"text/plain": text, "text/html": html,
                "application/json": json.loads(json.dumps(self, default=_plain))}


def _plain(v):
    try:
        return v.item()  # numpy scalars
    except AttributeError:
        return v.tolist() if hasattr(v, "tolist") else str(v)


def quoted_numbers(**numbers):
    """Collect the numbers the episode's text quotes; see :class:`QuotedNumbers`."""
    return QuotedNumbers({k: _plain(v) if not isinstance(v, (int, float, str, list))
                          else v for k, v in numbers.items()})
