"""The machine a measurement was made on, and the stamp saved with every measurement.

A timing belongs to three things besides the machine's speed: the episode's code, the
TensorFlow and Keras versions, and the class of CPU (training on a CPU with AVX-512 or
bfloat16 units takes half the time it takes on one with AVX2 only). Every saved
measurement carries all three (:func:`stamp`), so that ``python -m tools.stale`` can
tell, without running anything, which measurements no longer describe the lesson.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from cnnlesson.hardware import cpu_features, mixed_precision_policy
from tools.notebooks import cells_fingerprint, episode_fingerprint
from tools.stale import machine_class


def machine():
    """This machine: CPU, cores, versions, CPU features and what oneDNN uses of them."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": importlib.metadata.version("tensorflow"),
            "keras": importlib.metadata.version("keras"), "platform": platform.platform(),
            "cpu_features": cpu_features(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or None,
            "onednn_isa": onednn_isa(),
            "precision": mixed_precision_policy(gpu_capability=None),
            # set by importing cnnlesson (above) unless it was set: what the kernels inherit
            "tf_cpu_allocator_use_bfc": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC")}


def onednn_isa():
    """The instruction set oneDNN (TensorFlow's CPU kernels) really dispatches to here,
    e.g. 'Intel AVX2' or 'Intel AVX-512 with Intel DL Boost and bfloat16 support', read
    from its verbose log in a child process: with ONEDNN_MAX_CPU_ISA set it shows the
    cap in effect, and on a CPU without AVX-512 that the cap changes nothing."""
    code = ("import numpy as np, keras\n"
            "m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])\n"
            "m.predict(np.zeros((2, 8, 8, 3), 'float32'), verbose=0)\n")
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if ",info,cpu,isa:" in line:
            return line.split("isa:", 1)[1].strip()
    return None


def describe(m):
    """One line for a machine: '2 cores, AMD EPYC (AVX2; float32)'."""
    feats = ", ".join(m.get("cpu_features") or []) or "CPU features unknown"
    if m.get("onednn_max_cpu_isa"):
        feats += f", capped at {m['onednn_max_cpu_isa']}"
    if m.get("onednn_isa"):
        feats += f"; oneDNN uses {m['onednn_isa']}"
    return f"{m['cores']} cores, {m['cpu']} ({feats}; {m.get('precision', '?')})"


def stamp(episodes, m=None, cells=None):
    """What a measurement of ``episodes`` depends on: their code fingerprints (or, with
    ``cells``, only those of the cells it runs, tagged ``reuse-NAME``: key
    ``STEM#NAME,NAME``), the TensorFlow and Keras versions, and the machine's class."""
    m = m or machine()
    code = ({f"{stem}#{','.join(cells)}": cells_fingerprint(stem, cells) for stem in episodes}
            if cells else {stem: episode_fingerprint(stem) for stem in episodes})
    return {"code": code,
            "tensorflow": m.get("tensorflow"), "keras": m.get("keras"),
            "machine_class": machine_class(m.get("cores"), m.get("cpu_features") or [],
                                           m.get("onednn_max_cpu_isa"))}
