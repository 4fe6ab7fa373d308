"""One pinned list (requirements.txt); every other form is derived from it."""
import importlib.metadata as md
import sys
from pathlib import Path

import pytest

from tools import envfile

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_is_generated_from_requirements():
    assert (ROOT / "environment.yml").read_text() == envfile.environment_yml(), (
        "environment.yml has drifted from requirements.txt: run `python -m tools.envfile`")


def test_drift_is_detected(tmp_path, monkeypatch):
    fake = tmp_path / "environment.yml"
    fake.write_text(envfile.environment_yml().replace("keras==", "keras>="))
    monkeypatch.setattr(envfile, "ENVIRONMENT", fake)
    assert envfile.main(["--check"]) == 1


def test_every_requirement_is_pinned():
    with pytest.raises(ValueError, match="not pinned"):
        envfile.pins("numpy>=2\n")
    names = [n.lower() for n, _ in envfile.pins()]
    for needed in ("tensorflow", "keras", "pandas", "seaborn", "matplotlib", "scikit-learn",
                   "jupyterlab", "nbval", "pytest", "jupytext"):
        assert needed in names


@pytest.mark.parametrize("name,version", envfile.pins())
def test_installed_versions_match_the_pins(name, version):
    assert md.version(name) == version, f"{name}: installed {md.version(name)}, pinned {version}"


def test_python_version_is_supported():
    """The pins are tested on requirements.txt's `# python X.Y` (conda and Binder get that
    one); `tools/lesson.py setup` accepts every version whose wheels resolve
    (tests/test_platforms.py), so the tests run on any of them."""
    from tools import lesson
    assert envfile.python_version() in lesson.SUPPORTED_PYTHONS
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in lesson.SUPPORTED_PYTHONS, lesson.python_problem(running)
