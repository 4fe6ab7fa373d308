"""What the learner's machine runs fast: CPU features and the mixed-precision policy.

Mixed precision (16-bit arithmetic) is a large speed-up only on hardware with units
for it, and a large slow-down elsewhere: on a CPU without bfloat16 instructions,
TensorFlow's ``mixed_bfloat16`` trained the lesson's best model about 5 times slower
than ``float32``. So no cell of the lesson names a precision; it asks
:func:`mixed_precision_policy`, which answers from what the hardware has:

* a GPU with compute capability 8.0 or newer (A100, RTX 30xx/40xx, H100, L4):
  ``"mixed_bfloat16"``;
* an older GPU with tensor cores (compute capability 7.x: V100, T4, RTX 20xx):
  ``"mixed_float16"`` (they have no fast bfloat16);
* a CPU with bfloat16 units (AVX-512 BF16 or AMX, as oneDNN uses them), unless
  ``ONEDNN_MAX_CPU_ISA`` forbids them: ``"mixed_bfloat16"``;
* anything else, including every laptop without those units, Apple silicon and
  machines whose CPU features cannot be read: ``"float32"``.

Reading the CPU flags is our own code because no maintained library both reports
them on Linux without a compiler and knows oneDNN's ``ONEDNN_MAX_CPU_ISA`` names;
it is a few lines of ``/proc/cpuinfo`` parsing.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_features", "cpu_has_fast_bfloat16", "gpu_compute_capability",
           "mixed_precision_policy"]

# The CPU flags that matter for training speed, in the names Linux uses.
_FLAGS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_bf16": "AVX-512 BF16",
    "amx_bf16": "AMX BF16",
    "amx_tile": "AMX",
    "avx512_fp16": "AVX-512 FP16",
}
# oneDNN's ISA names (ONEDNN_MAX_CPU_ISA) at or above which it uses bfloat16 units.
_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX10_1_512",
              "AVX10_2", "ALL", "DEFAULT")


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """The training-relevant features of this CPU, e.g. ``["AVX2", "AVX-512"]``.

    Read from ``/proc/cpuinfo`` on Linux (or from the text passed in, for tests).
    Returns an empty list where the flags cannot be read (macOS, Windows).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
            break
    return [name for flag, name in _FLAGS.items() if flag in flags]


def cpu_has_fast_bfloat16(features: list[str] | None = None,
                          max_isa: str | None = None) -> bool:
    """True when TensorFlow (through oneDNN) can use bfloat16 units on this CPU.

    ``max_isa`` defaults to the environment variable ``ONEDNN_MAX_CPU_ISA``, which
    caps the instructions oneDNN uses (``AVX2`` makes any CPU behave like one
    without bfloat16 units).
    """
    features = cpu_features() if features is None else features
    if not ({"AVX-512 BF16", "AMX BF16"} & set(features)):
        return False
    if max_isa is None:
        max_isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "")
    max_isa = max_isa.strip().upper()
    return not max_isa or max_isa.startswith(_BF16_ISAS)


def gpu_compute_capability() -> tuple[int, int] | None:
    """The compute capability of the first GPU TensorFlow sees, or None (no GPU)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    capability = details.get("compute_capability")
    return tuple(capability) if capability else (0, 0)


def mixed_precision_policy(gpu_capability: tuple[int, int] | None | str = "detect",
                           features: list[str] | None = None,
                           max_isa: str | None = None) -> str:
    """The Keras precision policy this machine trains fastest with.

    ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"float32"``: see the module's
    docstring. Pass it to ``keras.mixed_precision.set_global_policy`` before a
    model is built. The arguments exist for tests; a lesson calls it without any.
    """
    if gpu_capability == "detect":
        gpu_capability = gpu_compute_capability()
    if gpu_capability is not None:
        if gpu_capability >= (8, 0):
            return "mixed_bfloat16"
        if gpu_capability >= (7, 0):
            return "mixed_float16"
        return "float32"
    if platform.system() == "Linux" and cpu_has_fast_bfloat16(features, max_isa):
        return "mixed_bfloat16"
    return "float32"
