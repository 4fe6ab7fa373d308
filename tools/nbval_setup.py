"""What every nbval run of the lesson needs, in one place: the repository's conftest.py
imports it, and ``tools/lesson.py test-colab`` copies this file as the conftest.py of
the Colab check's own folder (which runs in another environment, without the repository).

* TensorFlow's C++ log lines go to the kernel's stderr: kept out of the way.
* No MPLBACKEND: the kernels inherit this environment and must keep IPython's inline
  backend, so that figures are drawn into the notebooks.
* Checked cells (``nbval-check-output``) are compared without their stderr (log lines
  and warnings, which differ between machines and versions).
* oneDNN is capped at AVX2 (``ONEDNN_MAX_CPU_ISA``, unless already set), before anything
  imports TensorFlow, and the kernels inherit it: the quoted figures were measured so,
  and a run's numbers then do not depend on whether the CPU has AVX-512 (see the
  repository's conftest.py for what changes without the cap).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.pop("MPLBACKEND", None)

try:
    from nbval.plugin import IPyNbCell
except ImportError:  # pragma: no cover - nbval is in requirements.txt
    IPyNbCell = None
else:
    _compare = IPyNbCell.compare_outputs

    def _compare_without_stderr(self, test, ref, skip_compare=None):
        def keep(outputs):
            return [o for o in outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        return _compare(self, keep(test), keep(ref), skip_compare)

    if getattr(_compare, "__name__", "") != "_compare_without_stderr":  # patch once
        IPyNbCell.compare_outputs = _compare_without_stderr
