"""Derive environment.yml (conda, Binder) from requirements.txt, the one pinned list.

    python -m tools.envfile          # write environment.yml
    python -m tools.envfile --check  # exit 1 if environment.yml has drifted
"""
from __future__ import annotations

import re
import sys

from tools.facts import ROOT
REQUIREMENTS = ROOT / "requirements.txt"
ENVIRONMENT = ROOT / "environment.yml"


def pins(text=None):
    """[(name, version)] of requirements.txt, in its order."""
    text = REQUIREMENTS.read_text() if text is None else text
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.+\-]+)", line)
        if not m:
            raise ValueError(f"requirements.txt: {line!r} is not pinned as name==version")
        out.append((m[1], m[2]))
    return out


def python_version(text=None):
    text = REQUIREMENTS.read_text() if text is None else text
    m = re.search(r"^#\s*python\s+(\d+\.\d+)\s*$", text, re.M)
    if not m:
        raise ValueError("requirements.txt needs a line '# python X.Y'")
    return m[1]


def environment_yml():
    lines = [
        "# Generated from requirements.txt by `python -m tools.envfile`: do not edit by hand.",
        "# conda env create -f environment.yml && conda activate cnn-lesson",
        "# The packages come from PyPI through pip, exactly as in requirements.txt: one",
        "# list of versions for pip, conda and Binder (conda only provides Python).",
        "name: cnn-lesson",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={python_version()}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={version}" for name, version in pins()]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = environment_yml()
    if "--check" in argv:
        if not ENVIRONMENT.exists() or ENVIRONMENT.read_text() != text:
            print("environment.yml has drifted from requirements.txt: "
                  "run `python -m tools.envfile`")
            return 1
        print("environment.yml matches requirements.txt")
        return 0
    ENVIRONMENT.write_text(text)
    print("wrote environment.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
