"""The lesson's commands, the same on Windows (PowerShell), macOS and Linux, without make.

    python tools/lesson.py setup       # .venv with the pinned packages (+ Chromium where apt can)
    python tools/lesson.py setup --quick   # .venv with the light tools only (no TensorFlow)
    python tools/lesson.py check --quick   # what a contributor runs: copies, numbers, prose (< 3 min)
    python tools/lesson.py test        # every test (extra arguments go to pytest)
    python tools/lesson.py lesson      # open the notebooks in JupyterLab
    python tools/lesson.py doctor      # is this Python supported? is PyPI reachable?
    python tools/lesson.py pins        # do the pins resolve on every platform and Python?
    python tools/lesson.py test-colab  # core notebooks (00-05) on Colab's versions
    python tools/lesson.py notebooks | check | quotes | stale | prose | bench | site | clean

On Windows use ``py tools\\lesson.py setup`` (or ``py -3.13 ...`` to pick a Python).
``make <command>`` is a shortcut for ``python3 tools/lesson.py <command>``.

Why a script of our own rather than a task runner (nox, invoke, tox): it needs nothing but
the Python that is about to create the virtual environment, so it works before anything
is installed, and it has to know the lesson's few conventions (where the data copy is,
which Python versions have TensorFlow wheels). It only uses the standard library.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from tools.facts import BUILD, COLAB_CHECK, FULL_CODE, ROOT  # noqa: E402  (standard library only)

VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
COLAB_CONSTRAINTS = ROOT / "tests" / "constraints-colab.txt"
COLAB_DIR = BUILD / "colab"
COLAB_VENV = COLAB_DIR / "venv"
# What the quick check needs (versions from requirements.txt): the notebook tools and the
# test runner, the helper package's own light dependencies, and no TensorFlow.
QUICK = ("jupytext", "nbformat", "nbclient", "ipykernel", "pytest", "pytest-timeout", "nbval",
         "psutil", "numpy", "pillow", "filelock", "tqdm")
# The tests the quick check runs: the reader copies, the episodes' shape and prose, the
# quoted numbers, links, environment file and the staleness report (none runs a notebook).
QUICK_TESTS = ("tests/test_notebooks_fresh.py", "tests/test_episode_structure.py",
               "tests/test_prose_claims.py", "tests/test_quotes.py", "tests/test_stale.py",
               "tests/test_links.py", "tests/test_environment.py", "tests/test_layout.py",
               "tests/test_prose.py")
# The test tools the Colab environment needs besides Colab's own packages (versions
# from requirements.txt): Colab has Jupyter, but not pytest and nbval.
HARNESS = ("pytest", "pytest-timeout", "nbval", "nbformat", "nbclient", "ipykernel", "psutil")

# ---------------------------------------------------------------- supported platforms
# Derived from the wheels on PyPI: `python tools/lesson.py pins` resolves requirements.txt
# for every (platform, Python) below with pip's resolver, and tests/test_platforms.py fails
# when a supported pair stops resolving or an edge (the Pythons just outside the range,
# macOS on Intel) starts to: then this range and README's "If set-up fails" need updating.
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
OUTSIDE_PYTHONS = ("3.10", "3.14")  # no wheels of the pins (NumPy 2.4 / TensorFlow 2.21)
PLATFORMS = {
    # name: pip --platform tags (pip does not widen manylinux_2_x tags by itself)
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
                     "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-aarch64": ["manylinux_2_28_aarch64", "manylinux_2_27_aarch64",
                      "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "windows-x86_64": ["win_amd64"],
    "macos-arm64": ["macosx_14_0_arm64"],  # Apple Silicon; pip widens to older macOS
}
# Where TensorFlow 2.21 has no wheels at all (checked too: it must keep failing).
UNSUPPORTED_PLATFORMS = {
    "macos-x86_64": ["macosx_14_0_x86_64"],  # Intel Macs: TensorFlow stopped at 2.16
}


def venv_python(venv: Path = VENV, windows: bool | None = None) -> Path:
    """The virtual environment's Python: Scripts\\python.exe on Windows, bin/python elsewhere."""
    if (os.name == "nt") if windows is None else windows:
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def pinned_python() -> str:
    """The Python version requirements.txt is tested with (its '# python X.Y' line)."""
    for line in REQUIREMENTS.read_text().splitlines():
        parts = line.strip("# \n").split()
        if len(parts) == 2 and parts[0] == "python":
            return parts[1]
    raise SystemExit("requirements.txt needs a line '# python X.Y'")


def pins(path: Path = REQUIREMENTS) -> dict:
    """{name: version} of a file of name==version lines (comments ignored)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[name.strip().lower()] = version.strip()
    return out


def python_problem(version=None) -> str | None:
    """One sentence with the way out when this Python cannot install the pins, else None."""
    v = version or f"{sys.version_info.major}.{sys.version_info.minor}"
    if v in SUPPORTED_PYTHONS:
        return None
    lo, hi = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    launcher = f"py -{hi} tools\\lesson.py setup" if os.name == "nt" else \
        f"python{hi} tools/lesson.py setup"
    return (f"Python {v} cannot install the lesson's packages (the pinned TensorFlow, "
            f"NumPy and others have wheels for Python {lo} to {hi} only): "
            f"install Python {hi} from python.org (or `conda env create -f environment.yml`), "
            f"then run `{launcher}`.")


def mac_intel_problem() -> str | None:
    if sys.platform == "darwin" and platform.machine() == "x86_64":
        return ("TensorFlow has no wheels for Intel Macs since 2.16, so the lesson's "
                "packages cannot be installed here: use Binder or Colab (see learners/setup.md).")
    return None


def lesson_env() -> dict:
    """The environment for the commands: CNNLESSON_DATA_DIR defaults to ../shared/data
    where that copy exists (development machines, CI); learners leave it unset."""
    env = dict(os.environ)
    shared = ROOT.parent / "shared" / "data"
    if "CNNLESSON_DATA_DIR" not in env and (shared / "cifar10").is_dir():
        env["CNNLESSON_DATA_DIR"] = str(shared)
    return env


def run(cmd, **kw) -> int:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT),
                           env=kw.pop("env", lesson_env()), **kw)


def need_venv() -> Path:
    py = venv_python()
    if not py.exists():
        raise SystemExit(f"No virtual environment in {VENV.name}: run `python tools/lesson.py "
                         f"setup` first (Windows: `py tools\\lesson.py setup`).")
    return py


# ---------------------------------------------------------------- commands

def cmd_setup(args) -> int:
    problem = python_problem() or mac_intel_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not venv_python().exists():
        if run([sys.executable, "-m", "venv", VENV]):
            return 1
    py = venv_python()
    quiet = [] if args.verbose else ["--quiet"]
    if run([py, "-m", "pip", "install", *quiet, "--upgrade", "pip"]):
        return 1
    if args.quick:  # the light tools at their pinned versions, the helper package without its extras
        if run([py, "-m", "pip", "install", *quiet, "-c", REQUIREMENTS, *QUICK]) or \
                run([py, "-m", "pip", "install", *quiet, "--no-deps", "-e", "."]):
            return 1
        print("quick set-up done (no TensorFlow): `python tools/lesson.py check --quick`; "
              "`python tools/lesson.py setup` adds the rest")
        return 0
    if run([py, "-m", "pip", "install", *quiet, "-r", REQUIREMENTS, "-e", "."]):
        print("\npip could not install the pinned packages: see README.md, section "
              "'If set-up fails' (proxy, offline wheels, Python version).", file=sys.stderr)
        return 1
    if sys.platform.startswith("linux") and shutil.which("bash") and not args.no_browser:
        run(["bash", "tools/install-browser.sh"])
    return run([py, "-c", "import tensorflow as tf, keras; print('set-up done: TensorFlow', "
                "tf.__version__, '/ Keras', keras.__version__)"])


def cmd_test(args) -> int:
    return run([need_venv(), "-m", "pytest", *args.rest])


def cmd_lesson(args) -> int:
    return run([need_venv(), "-m", "jupyterlab", "notebooks"])


def cmd_notebooks(args) -> int:
    return run([need_venv(), "-m", "tools.notebooks", "build"])


def cmd_check(args) -> int:
    py = need_venv()
    if not args.quick:
        return (run([py, "-m", "tools.notebooks", "check"])
                or run([py, "-m", "tools.envfile", "--check"]) or run([py, "-m", "tools.quotes"]))
    # the quick check: regenerate the readers' copies, report what is stale, run the light tests
    if run([py, "-m", "tools.notebooks", "build"]) or run([py, "-m", "tools.envfile"]):
        return 1
    run([py, "-m", "tools.stale"])
    # (not the check that every pinned package is installed: the quick set-up has a few)
    return run([py, "-m", "pytest", "-q", "-m", "not after_notebooks and not browser and not overlap",
                "-k", "not test_installed_versions_match_the_pins", *QUICK_TESTS])


def cmd_quotes(args) -> int:
    """Write the lab's saved numbers into the pages that quote them, the instructors'
    schedule (built from the benchmark's times), then the notebooks."""
    py = need_venv()
    return (run([py, "-m", "tools.quotes", "--write"])
            or run([py, "-m", "tools.site", "schedule", "--write"])
            or run([py, "-m", "tools.notebooks", "build"]))


def cmd_prose(args) -> int:
    return run([need_venv(), "-m", "tools.prose"])


def cmd_stale(args) -> int:
    return run([need_venv(), "-m", "tools.stale", *(["--strict"] if args.strict else [])])


def cmd_bench(args) -> int:
    return run([need_venv(), "-m", "tools.lab.benchmark", "--save", "instructors/benchmark.json"])


def cmd_site(args) -> int:
    return run([need_venv(), "-m", "tools.site", "build"])


def cmd_clean(args) -> int:
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    print("removed _build/ (the data cache in data/ is kept)")
    return 0


# ---------------------------------------------------------------- pins on every platform

PYPI = "https://pypi.org/simple/tensorflow/"


def pypi_reachable(timeout=10) -> str | None:
    """None when PyPI answers, else why not (one line)."""
    try:
        req = urllib.request.Request(PYPI, method="HEAD")
        with urllib.request.urlopen(req, timeout=timeout):
            return None
    except Exception as err:  # noqa: BLE001 - any failure means "not reachable"
        return f"{PYPI} is not reachable ({err})"


def resolve(requirements: Path, tags, python: str, extra=()) -> dict:
    """Resolve ``requirements`` for one platform and Python with pip's resolver, wheels only
    (what a learner's `pip install` would pick there, dependencies included).

    Returns {'ok': bool, 'packages': {name: version}, 'error': last error line}."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", *extra, "--dry-run", "--ignore-installed", "--only-binary=:all:",
               "--quiet", "--python-version", python, "-r", str(requirements),
               "--report", str(report)]
        for tag in tags:
            cmd += ["--platform", tag]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if p.returncode or not report.exists():
            errors = [ln for ln in (p.stderr + p.stdout).splitlines() if ln.startswith("ERROR")]
            return {"ok": False, "packages": {},
                    "error": errors[-1] if errors else f"pip exited with {p.returncode}"}
        data = json.loads(report.read_text())
        return {"ok": True, "error": None,
                "packages": {i["metadata"]["name"].lower(): i["metadata"]["version"]
                             for i in data["install"]}}


def pin_matrix(include_edges=True, include_colab=True):
    """[(label, requirements, tags, python, expected_to_resolve)] checked by `pins`."""
    jobs = []
    for name, tags in PLATFORMS.items():
        for py in SUPPORTED_PYTHONS:
            jobs.append((f"{name} py{py}", REQUIREMENTS, tags, py, True))
    if include_edges:
        for py in OUTSIDE_PYTHONS:
            jobs.append((f"linux-x86_64 py{py} (outside the range)", REQUIREMENTS,
                         PLATFORMS["linux-x86_64"], py, False))
        for name, tags in UNSUPPORTED_PLATFORMS.items():
            jobs.append((f"{name} py{pinned_python()} (no TensorFlow wheels)", REQUIREMENTS,
                         tags, pinned_python(), False))
    if include_colab:
        jobs.append((f"Colab (linux-x86_64 py{colab_python()}, tests/constraints-colab.txt)",
                     COLAB_CONSTRAINTS, PLATFORMS["linux-x86_64"], colab_python(), True))
    return jobs


def check_pins(jobs=None, workers=6, log=print):
    """Run the resolutions in parallel; returns [(label, expected, result)]."""
    jobs = pin_matrix() if jobs is None else jobs
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [(label, expected, pool.submit(resolve, req, tags, py))
                   for label, req, tags, py, expected in jobs]
        out = []
        for label, expected, fut in futures:
            res = fut.result()
            good = res["ok"] == expected
            log(f"{'ok  ' if good else 'FAIL'} {label}: "
                + ("resolves" if res["ok"] else f"does not resolve ({res['error']})")
                + ("" if good else ("  <- expected to resolve" if expected
                                    else "  <- expected NOT to resolve: widen the range")))
            out.append((label, expected, res))
    return out


def cmd_pins(args) -> int:
    why = pypi_reachable()
    if why:
        print(why, file=sys.stderr)
        return 2
    results = check_pins()
    bad = [r for r in results if r[2]["ok"] != r[1]]
    print(f"{len(results) - len(bad)} of {len(results)} as expected; supported: Python "
          f"{SUPPORTED_PYTHONS[0]}-{SUPPORTED_PYTHONS[-1]} on {', '.join(PLATFORMS)}")
    return 1 if bad else 0


def cmd_doctor(args) -> int:
    v = f"{sys.version_info.major}.{sys.version_info.minor}"
    print(f"Python {v} ({sys.executable}) on {sys.platform} {platform.machine()}")
    problem = python_problem() or mac_intel_problem()
    print(problem or f"Python {v} is supported (range {SUPPORTED_PYTHONS[0]}-"
          f"{SUPPORTED_PYTHONS[-1]}).")
    why = pypi_reachable()
    print(why + ": behind a proxy set HTTPS_PROXY, or install from a wheel folder "
          "(README: 'If set-up fails')" if why else "PyPI is reachable.")
    print(f"virtual environment: {'found' if venv_python().exists() else 'not yet created'} "
          f"({venv_python().relative_to(ROOT)})")
    return 1 if problem else 0


# ---------------------------------------------------------------- Colab as installed

def colab_python() -> str:
    for line in COLAB_CONSTRAINTS.read_text().splitlines():
        if line.startswith("# colab-python:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"{COLAB_CONSTRAINTS.name} needs a line '# colab-python: X.Y'")


def _python_version(exe) -> str | None:
    try:
        p = subprocess.run([str(exe), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def colab_interpreter(requested=None):
    """(python, note): the Python to build the Colab environment with. Colab's own version
    (`python3.13` on PATH, or pyenv's) where this machine has it, else the running Python,
    with a note saying so (the `pins` check still resolves Colab's versions for Colab's
    Python)."""
    want = colab_python()
    if requested:
        return requested, f"Python {_python_version(requested)} as asked (--python)"
    candidates = [shutil.which(f"python{want}")]
    candidates += sorted(Path.home().glob(f".pyenv/versions/{want}*/bin/python{want}"))
    for exe in candidates:
        if exe and _python_version(exe) == want:
            return str(exe), f"Python {want}, Colab's"
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    return sys.executable, (f"Python {mine}, this machine's: Colab's Python {want} is not "
                            f"installed here (the pins check resolves Colab's versions for it)")


def cmd_colab_env(args) -> int:
    """Build _build/colab/venv: Colab's versions, the test tools, and cnnlesson installed
    (not editable) from a copy of the package, as Colab's install cell does."""
    python, note = colab_interpreter(getattr(args, "python", None))
    py = venv_python(COLAB_VENV)
    if py.exists() and _python_version(py) != _python_version(python):
        shutil.rmtree(COLAB_VENV)  # built with another Python: start again
    print(f"Colab environment on {note}", flush=True)
    if not py.exists() and run([python, "-m", "venv", COLAB_VENV]):
        return 1
    pinned = pins()
    harness = [f"{n}=={pinned[n]}" for n in HARNESS]
    if run([py, "-m", "pip", "install", "--quiet", "-r", COLAB_CONSTRAINTS, *harness]):
        return 1
    # a copy of the package, so that building it leaves nothing in the checkout
    src = COLAB_DIR / "cnnlesson-src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(ROOT / "cnnlesson", src / "cnnlesson",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src / "pyproject.toml")
    # (with its dependencies, kept at Colab's versions; uninstalled first, as its version
    # number does not change when its code does)
    run([py, "-m", "pip", "uninstall", "--quiet", "--yes", "cnnlesson"])
    if run([py, "-m", "pip", "install", "--quiet", "-c", COLAB_CONSTRAINTS, src]):
        return 1
    return run([py, "-m", "pip", "check"])


# The Colab run's own pytest set-up: the learners' notebooks exactly as Colab opens them
# (notebooks/NN.ipynb, not the test build with the tests' plumbing), nothing saved to
# _build/executed/ (that is the main run's, which the claims tests and the website use).
COLAB_PYTEST_INI = """[pytest]
addopts = -ra -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=600
timeout = 1200
filterwarnings = ignore::DeprecationWarning
"""


# Runs in every kernel of the Colab check before the notebook's first cell.
COLAB_STARTUP = """\
# The Colab check (tools/lesson.py test-colab) only: a fifth of the lesson's images.
import cnnlesson.data
sizes = cnnlesson.data.LESSON_SIZES
sizes["cifar10"] = tuple(n // 5 for n in sizes["cifar10"])
del sizes
"""


def fill_faded(nb: dict) -> dict:
    """A learner notebook as a learner runs it after filling the blanks of its faded
    examples: each code cell followed by a closed "Show the full code" block gets that
    code (the blanks would stop the run at the first one). The rest is unchanged."""
    cells = nb["cells"]
    for cell, after in zip(cells, cells[1:]):
        text = "".join(after["source"]) if after["cell_type"] == "markdown" else ""
        if cell["cell_type"] == "code" and text.startswith(FULL_CODE):
            cell["source"] = text.split("```python\n", 1)[1].rsplit("\n```", 1)[0]
    return nb


def cmd_test_colab(args) -> int:
    """nbval on the core learners' notebooks in the Colab environment, in a folder of its
    own, _build/colab/run (its own pytest set-up: tools/nbval_setup.py as its conftest.py)."""
    py = venv_python(COLAB_VENV)
    python, _ = colab_interpreter(args.python)
    if not py.exists() or args.rebuild or _python_version(py) != _python_version(python):
        if cmd_colab_env(args):
            return 1
    tree = COLAB_DIR / "run"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "notebooks").mkdir(parents=True)
    (tree / "pytest.ini").write_text(COLAB_PYTEST_INI)
    shutil.copy(ROOT / "tools" / "nbval_setup.py", tree / "conftest.py")
    if (ROOT / "fig").is_dir():
        shutil.copytree(ROOT / "fig", tree / "fig")
    only = args.only or list(COLAB_CHECK)
    chosen = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name[:2] in only)
    for nb in chosen:  # as a learner runs them, the faded examples filled in
        filled = fill_faded(json.loads(nb.read_text()))
        (tree / "notebooks" / nb.name).write_text(json.dumps(filled, indent=1))
    versions = ("import sys, tensorflow as tf, keras, numpy, pandas; print('Colab check: Python', "
                "sys.version.split()[0], '/ TensorFlow', tf.__version__, '/ Keras', "
                "keras.__version__, '/ NumPy', numpy.__version__, '/ pandas', pandas.__version__); "
                # the installed package carries the tables that episode 8 reads
                "import cnnlesson; print('tables in the installed package:', "
                "len(cnnlesson.lesson_table('search_seeds')), 'rows of search_seeds')")
    if run([py, "-c", versions]):
        return 1
    # This check asks whether the notebooks run on Colab's versions, which does not depend
    # on how many images they train on: an IPython start-up file, in this test folder only,
    # gives them a fifth of the lesson's images (the main run checks every number).
    startup = tree / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab-check.py").write_text(COLAB_STARTUP)
    return run([py, "-m", "pytest", *[f"notebooks/{nb.name}" for nb in chosen]], cwd=tree,
               env={**lesson_env(), "IPYTHONDIR": str(tree / "ipython")})


COMMANDS = {
    "setup": (cmd_setup, "create .venv with the pinned packages (and Chromium where apt can)"),
    "test": (cmd_test, "run every test (extra arguments go to pytest)"),
    "lesson": (cmd_lesson, "open the lesson in JupyterLab"),
    "doctor": (cmd_doctor, "check this Python, PyPI and the virtual environment"),
    "pins": (cmd_pins, "check that the pins resolve on every supported platform and Python"),
    "colab-env": (cmd_colab_env, "build _build/colab/venv from tests/constraints-colab.txt"),
    "test-colab": (cmd_test_colab, "run the core notebooks (00-05) on Colab's versions"),
    "notebooks": (cmd_notebooks, "regenerate notebooks/ from episodes/"),
    "check": (cmd_check, "fail if a generated file or a quoted lab number is out of date "
                         "(--quick: rebuild the copies and run the light tests, no TensorFlow)"),
    "quotes": (cmd_quotes, "write the lab's saved numbers into the pages that quote them"),
    "stale": (cmd_stale, "list the saved measurements that are out of date, and why"),
    "prose": (cmd_prose, "how much each episode asks learners to read, against the goals"),
    "bench": (cmd_bench, "execute every notebook; table of time, peak memory, device"),
    "site": (cmd_site, "build the lesson website into _build/html"),
    "clean": (cmd_clean, "remove build outputs (not the data cache)"),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python tools/lesson.py",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == "setup":
            p.add_argument("--verbose", action="store_true", help="show pip's output")
            p.add_argument("--no-browser", action="store_true",
                           help="do not install Chromium for the browser tests")
            p.add_argument("--quick", action="store_true",
                           help="only the light tools for `check --quick` (no TensorFlow)")
        if name == "check":
            p.add_argument("--quick", action="store_true",
                           help="rebuild the readers' copies and run the light tests (minutes)")
        if name == "stale":
            p.add_argument("--strict", action="store_true", help="exit 1 when something is stale")
        if name in ("test-colab", "colab-env"):
            p.add_argument("--python", metavar="PATH",
                           help="the Python to build it with (default: Colab's version where "
                                "this machine has it, else this Python)")
        if name == "test-colab":
            p.add_argument("--rebuild", action="store_true", help="reinstall the environment")
            p.add_argument("--only", nargs="+", metavar="NN",
                           help="notebook numbers to run (default: 00-05)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["test"]:  # everything after `test` goes to pytest unchanged
        args = argparse.Namespace(cmd="test", rest=argv[1:])
    else:
        args = ap.parse_args(argv)
    return COMMANDS[args.cmd][0](args)


if __name__ == "__main__":
    sys.exit(main())
