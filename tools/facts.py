"""Facts that the lesson's tools share, in one place: where things are, which episodes
form the core, the budgets, the seed, and two readings of a notebook (the fingerprint
of its code, the numbers its text quotes).

Standard library only, so that ``tools/lesson.py`` (which runs before anything is
installed) and the quick check (no TensorFlow) can import it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EPISODES = ROOT / "episodes"
NOTEBOOKS = ROOT / "notebooks"
CODE_ALONG = NOTEBOOKS / "code-along"
INSTRUCTORS = ROOT / "instructors"
INSTRUCTOR_NOTEBOOKS = INSTRUCTORS / "notebooks"
TABLES = ROOT / "cnnlesson" / "tables"
BUILD = ROOT / "_build"
TEST_BUILD = BUILD / "test-notebooks"  # what nbval runs (tools/notebooks.py writes it)
EXECUTED = BUILD / "executed"          # each notebook as its last full run left it

# The saved measurements (written by the lab, read by the build and the tests)
BENCHMARK = INSTRUCTORS / "benchmark.json"
BESTBENCH = INSTRUCTORS / "bestbench.json"

# The core lesson: the episodes a workshop teaches (00, the set-up check, comes before).
CORE = ("01", "02", "03", "04", "05")
# What the Colab check runs: the set-up check and the core.
COLAB_CHECK = ("00",) + CORE

# Budgets on the reference machine (2 CPU cores with AVX2, no AVX-512, no GPU)
CELL_BUDGET_S = 60
CORE_BUDGET_S = 600
MEMORY_BUDGET_MB = 1024  # Binder: 1 CPU, 450 MB guaranteed, stopped at 2 GB

# Every episode's first code cell says `SEED = 42`; the tests may replace it.
DEFAULT_SEED = 42
SEED_ENV = "CNNLESSON_SEED"

NUMBERS_TAG = "lesson-numbers"  # the cell that reports the numbers the text quotes
# How a learner notebook opens the full code under a faded example (tools/notebooks.py
# writes it, tools/lesson.py finds it to fill the blanks in for the Colab check)
FULL_CODE = "<details><summary>Show the full code</summary>"


def seed_label() -> str:
    """How an executed copy records its seed: the variable's value, or 'default'."""
    return os.environ.get(SEED_ENV) or "default"


def code_fingerprint(nb) -> str:
    """sha256 of a notebook's code cells: a measurement of a notebook belongs to this
    code (its prose, tags and outputs may change without making a timing stale)."""
    code = "\n\0".join(c["source"] for c in nb["cells"] if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()


def lesson_numbers(nb) -> dict:
    """The dict shown by a notebook's ``lesson-numbers`` cell ({} when it has none or
    did not run)."""
    found = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and NUMBERS_TAG in cell.get("metadata", {}).get("tags", []):
            for out in cell.get("outputs", []):
                found.update(out.get("data", {}).get("application/json", {}))
    return found

