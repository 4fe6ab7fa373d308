"""Build the lesson website: the executed episodes, the learner and instructor pages.

    python -m tools.site build              # = make site: _build/html/index.html
    python -m tools.site build --no-execute # fail instead of executing a missing notebook
    python -m tools.site schedule           # print the instructors' schedule table
    python -m tools.site schedule --write   # ... and update it in instructors/schedule.md

The site is Sphinx + MyST-NB + sphinx-book-theme (the Jupyter Book 1 stack): pip
packages pinned in requirements.txt, built fully offline. (Jupyter Book 2 / mystmd
needs Node.js and fetches its theme at build time.)

What ``build`` does:

1. For every ``notebooks/NN-*.ipynb`` it takes the executed copy in ``_build/executed/``
   (written by nbval during ``make test``, or by ``make bench``). A copy that is
   missing, or stale (its ``metadata.lesson.source_sha256`` differs from the
   notebook's), is executed first with :mod:`tools.execute`. The website never shows
   outputs that the current source did not produce.
2. It stages the sources in ``_build/site-src``: ``site/`` (conf.py, index.md,
   _static), the executed notebooks under ``notebooks/`` (so that ``../fig/`` links
   keep working, and ``fig/`` beside them), ``learners/*.md``, ``instructors/*.md``,
   and the notebooks to download (plain and code-along) under ``downloads/``. Each
   episode page gets launch badges (Binder, Colab) and download links under its
   title; generated tables replace the ``<!-- lesson:... -->`` markers of the pages.
3. It runs Sphinx (``nb_execution_mode = "off"``: the site shows the outputs of
   step 1) into ``_build/html``.

The repository named by the badges, the clone line and the Colab install cell comes
from ONE setting, :func:`repository_url`: ``CNNLESSON_REPOSITORY_URL``, else
``repository_url`` in ``site/config.toml``, else the checkout's ``git remote get-url
origin`` (normalised to ``https://HOST/OWNER/REPO``). When none names a repository on
the web, the site leaves the badges, clone lines and install cell out and says in one
sentence how a fork turns them on (:data:`NO_REPOSITORY`).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import quote

import nbformat

from tools.executed import ensure_executed
from tools.facts import BENCHMARK, BUILD, CODE_ALONG, NOTEBOOKS, ROOT
from tools.notebooks import episode_sources, instructor_notes_markdown, site_view

SITE = ROOT / "site"
SRC = BUILD / "site-src"
HTML = BUILD / "html"
BENCHMARKS = (BENCHMARK, BUILD / "benchmark.json")

# Pages in the order of the navigation; any other page in the folder follows these.
LEARNER_PAGES = ["setup", "offline", "reference"]
INSTRUCTOR_PAGES = ["index", "schedule", "common-mistakes", "classroom", "best-model"]

OVERVIEW = re.compile(r"^> \*\*Overview\*\* · Teaching: (\d+) min · Exercises: (\d+) min"
                      r"(?P<optional> · Optional\b)?", re.M)
# An optional episode (its overview line ends "· Optional, after the course") comes after
# the course: listed as optional, and left out of the schedule's length.
OPTIONAL = " (optional, after the course)"
TITLE = re.compile(r"^# (.+)$", re.M)
MARKER = re.compile(r"(<!-- lesson:(?P<name>[a-z-]+) -->)(?P<body>.*?)(<!-- /lesson:(?P=name) -->)",
                    re.S)


# --------------------------------------------------------------------------- config

# Said wherever a badge, a clone line or Colab's install cell would be, when no
# repository is known (a copy without a web remote, e.g. a ZIP or a local clone).
NO_REPOSITORY = ("This copy of the lesson names no repository on the web, so its Binder and "
                 "Colab links are left out: a fork turns them on by setting `repository_url` "
                 "in `site/config.toml` (or building from a clone whose `origin` remote is the "
                 "fork on GitHub) and running `python tools/lesson.py site`.")
# The hosts links may point at when a repository is set (besides the repository's own).
LAUNCH_HOSTS = ("mybinder.org", "colab.research.google.com")


def normalise_repository(url):
    """``https://HOST/OWNER/REPO`` for a git remote (https, ssh or scp-like ``git@host:o/r``),
    without credentials or ``.git``; None for anything that is not a repository on the
    web (a local path, ``file://``, an empty string)."""
    url = (url or "").strip()
    m = (re.fullmatch(r"(?:ssh://)?[\w.-]+@([\w.-]+)(?::\d+)?[:/]([^/:]+)/([^/]+?)(?:\.git)?/?", url)
         or re.fullmatch(r"(?:https?|git)://(?:[^@/]*@)?([\w.-]+)(?::\d+)?/([^/]+)/([^/]+?)(?:\.git)?/?",
                         url))
    if not m or "." not in m[1]:
        return None
    return f"https://{m[1].lower()}/{m[2]}/{m[3]}"


def git_remote_url(root=ROOT):
    """``git remote get-url origin`` of the checkout, or None (no git, no remote)."""
    try:
        p = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root,
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def repository_url(cfg_value=None, root=ROOT):
    """The lesson's repository (see the module's docstring), or None when none is known.

    The one place the repository address comes from; tools/notebooks.py and the site use it."""
    for candidate in (os.environ.get("CNNLESSON_REPOSITORY_URL"), cfg_value):
        if candidate and candidate.strip():
            url = normalise_repository(candidate)
            if url is None:
                raise SystemExit(f"repository_url {candidate!r} is not a repository on the web: "
                                 f"write it as https://github.com/OWNER/REPO")
            return url
    return normalise_repository(git_remote_url(root))


def config() -> dict:
    """site/config.toml, with ``repository_url`` resolved by :func:`repository_url`
    (None when no repository is known) and the hosts links may point at."""
    cfg = tomllib.loads((SITE / "config.toml").read_text())
    cfg["repository_url"] = repository_url(cfg.get("repository_url"))
    hosts = set(cfg.get("link_hosts", []))
    if cfg["repository_url"]:
        hosts |= {repo_parts(cfg["repository_url"])[0], *LAUNCH_HOSTS}
    cfg["link_hosts"] = sorted(hosts)
    return cfg


def repo_parts(url):
    """(host, owner, name) of a repository URL such as https://github.com/owner/name."""
    m = re.match(r"https?://([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    return (m[1], m[2], m[3]) if m else (None, None, None)


def launch_links(cfg, notebook_path):
    """{'binder': url, 'colab': url or None} to open ``notebook_path`` (relative to the repo);
    None when no repository is known."""
    url, branch = cfg["repository_url"], cfg["branch"]
    if not url:
        return None
    host, owner, name = repo_parts(url)
    if host == "github.com":
        binder = f"https://mybinder.org/v2/gh/{owner}/{name}/{branch}"
        colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{notebook_path}"
    elif host == "gitlab.com":
        binder = f"https://mybinder.org/v2/gl/{owner}%2F{name}/{branch}"
        colab = None  # Colab opens notebooks from GitHub only
    else:
        binder = f"https://mybinder.org/v2/git/{quote(url, safe='')}/{branch}"
        colab = None
    return {"binder": f"{binder}?labpath={quote(notebook_path, safe='')}", "colab": colab}


def pip_install_line(cfg):
    """The `pip install` of the lesson's helper package straight from the repository
    (None when no repository is known)."""
    if not cfg["repository_url"]:
        return None
    return f'pip install --quiet "cnnlesson @ git+{cfg["repository_url"]}.git@{cfg["branch"]}"'


# --------------------------------------------------------------------------- episodes

def episodes(log=None):
    """One dict per episode that has a notebook, in order: name, number, title, teaching
    and exercise minutes, whether it is optional. ``log`` is told about episodes without
    a notebook yet."""
    out = []
    for md in episode_sources():
        if not (NOTEBOOKS / f"{md.stem}.ipynb").exists():
            if log:
                log(f"warning: episodes/{md.name} has no notebook yet (run `make notebooks`): "
                    f"left off the site")
            continue
        text = md.read_text()
        title = TITLE.search(text)
        ov = OVERVIEW.search(text)
        out.append({"name": md.stem, "number": int(md.stem[:2]),
                    "title": title[1].strip() if title else md.stem,
                    "teaching": int(ov[1]) if ov else None,
                    "exercises": int(ov[2]) if ov else None,
                    "optional": bool(ov and ov["optional"])})
    return out


# --------------------------------------------------------------------------- generated text

def badges_markdown(cfg, name):
    """The line under an episode's title: launch badges and downloads."""
    links = launch_links(cfg, f"notebooks/{name}.ipynb")
    if links is None:
        return ("<div class=\"lesson-launch\">\n\nDownload: "
                f"{{download}}`Notebook <../downloads/notebooks/{name}.ipynb>` · "
                f"{{download}}`Code-along notebook <../downloads/code-along/{name}.ipynb>` "
                "(the code-along version has the code cells you type left empty)\n\n"
                f"{NO_REPOSITORY}\n\n</div>")
    parts = [f"[![Launch this episode on Binder](../_static/badge-binder.svg)]({links['binder']})"]
    if links["colab"]:
        parts.append(f"[![Open this episode in Google Colab](../_static/badge-colab.svg)]"
                     f"({links['colab']})")
    parts.append(f"{{download}}`Notebook <../downloads/notebooks/{name}.ipynb>`")
    parts.append(f"{{download}}`Code-along notebook <../downloads/code-along/{name}.ipynb>`")
    return ("<div class=\"lesson-launch\">\n\n" + " ".join(parts[:2 if links["colab"] else 1])
            + "\n\nDownload: " + " · ".join(parts[-2:]) + " (the code-along version has the code cells "
            "you type left empty; on Colab, first run the install cell from the "
            "[set-up page](../learners/setup.md#colab))\n\n</div>")


def _minutes(v):
    return "?" if v is None else str(v)


def episode_table(cfg, eps, page_dir):
    """Markdown table of the episodes, for the home page (page_dir: '' or 'learners/')."""
    up = "../" if page_dir else ""
    rows = ["| Episode | Teaching | Exercises | Notebooks |", "|---|---|---|---|"]
    for e in eps:
        rows.append(
            f"| [{e['title']}]({up}notebooks/{e['name']}.ipynb)"
            f"{OPTIONAL if e.get('optional') else ''} | {_minutes(e['teaching'])} min "
            f"| {_minutes(e['exercises'])} min "
            f"| {{download}}`full <{up}downloads/notebooks/{e['name']}.ipynb>` · "
            f"{{download}}`code-along <{up}downloads/code-along/{e['name']}.ipynb>` |")
    return "\n".join(rows)


def launch_table(cfg, eps, up="../"):
    if not cfg["repository_url"]:
        rows = ["| Episode | Download |", "|---|---|"]
        rows += [f"| [{e['title']}]({up}notebooks/{e['name']}.ipynb) "
                 f"| {{download}}`full <{up}downloads/notebooks/{e['name']}.ipynb>` · "
                 f"{{download}}`code-along <{up}downloads/code-along/{e['name']}.ipynb>` |"
                 for e in eps]
        return "\n".join(rows) + "\n\n" + NO_REPOSITORY
    rows = ["| Episode | Binder | Colab | Download |", "|---|---|---|---|"]
    for e in eps:
        links = launch_links(cfg, f"notebooks/{e['name']}.ipynb")
        colab = (f"[![Open {e['name']} in Google Colab]({up}_static/badge-colab.svg)]({links['colab']})"
                 if links["colab"] else "(GitHub only)")
        rows.append(
            f"| [{e['title']}]({up}notebooks/{e['name']}.ipynb) "
            f"| [![Launch {e['name']} on Binder]({up}_static/badge-binder.svg)]({links['binder']}) "
            f"| {colab} "
            f"| {{download}}`full <{up}downloads/notebooks/{e['name']}.ipynb>` · "
            f"{{download}}`code-along <{up}downloads/code-along/{e['name']}.ipynb>` |")
    return "\n".join(rows)


def colab_cell(cfg):
    if not cfg["repository_url"]:
        return NO_REPOSITORY
    return "```ipython\n!" + pip_install_line(cfg) + "\n```"


def load_benchmark():
    """(the benchmark JSON written by `python -m tools.lab.benchmark --save ...`, its path) or (None, None)."""
    for path in BENCHMARKS:
        if path.exists():
            return json.loads(path.read_text()), path
    return None, None


def schedule(eps, bench=None, start="09:00", break_after_min=90, break_min=15,
             last_of_day_one=5, welcome_min=15, wrap_up_min=10, homework=(0,)):
    """Markdown schedule: episode slots (teaching + exercises + waiting for the code to run).

    The waiting time is the notebook's measured wall time on the benchmark machine,
    rounded up to whole minutes: learners run every cell once while the instructor
    talks and types. A break is put in before an episode that would take the time
    since the last break past ``break_after_min`` minutes. Each session opens with
    ``welcome_min`` minutes for people (a welcome, a helper fixing an install) and closes
    with ``wrap_up_min`` for questions: a room never runs exactly to the teaching
    minutes. The episodes numbered in ``homework`` (the set-up check) come before the
    workshop, off the clock. The core lesson (up to episode ``last_of_day_one``) is the
    first session; the rest starts a second one. Optional episodes come after the end,
    with their minutes and measured run time, and count in no session's length.
    """
    runs = {}
    if bench:
        for r in bench.get("notebooks", []):
            runs[r["notebook"]] = r
    h, m = map(int, start.split(":"))
    clock = h * 60 + m
    since_break = 0

    def hhmm(t):
        return f"{t // 60:02d}:{t % 60:02d}"

    rows = ["| Start | Episode | Teaching | Exercises | Code runs (measured) | Slowest cell "
            "| Peak memory | Slot |",
            "|---|---|---|---|---|---|---|---|"]
    total = 0
    day_two = False
    after = []

    def people(label, minutes):
        nonlocal clock, total, since_break
        rows.append(f"| {hhmm(clock)} | **{label}** | | | | | | {minutes} min |")
        clock += minutes
        total += minutes
        since_break += minutes

    people("Welcome, set-up check, questions", welcome_min)
    for e in eps:
        if e.get("optional"):
            ran, slowest, peak = _ran(runs.get(e["name"]))
            after.append(f"| after | [{e['title']}](../notebooks/{e['name']}.ipynb){OPTIONAL} "
                         f"| {_minutes(e['teaching'])} min | {_minutes(e['exercises'])} min "
                         f"| {ran} | {slowest} | {peak} | not counted |")
            continue
        if not day_two and e["number"] > last_of_day_one:
            day_two = True
            people("Wrap-up and questions", wrap_up_min)
            core_total = total
            rows.append(f"| {hhmm(clock)} | **End of the core lesson** ({core_total // 60} h "
                        f"{core_total % 60:02d} min; a workshop of one session ends here, a "
                        f"second session starts below) | | | | | | |")
            clock, since_break = h * 60 + m, 0
            people("Welcome back, questions", welcome_min)
        r = runs.get(e["name"])
        wait = math.ceil(r["wall_s"] / 60) if r and r.get("wall_s") is not None else 0
        slot = (e["teaching"] or 0) + (e["exercises"] or 0) + wait
        ran, slowest, peak = _ran(r)
        if e["number"] in homework:
            rows.insert(2, f"| before | [{e['title']}](../notebooks/{e['name']}.ipynb) "
                           f"(at home, before the workshop) | {_minutes(e['teaching'])} min "
                           f"| {_minutes(e['exercises'])} min | {ran} | {slowest} "
                           f"| {peak} | off the clock |")
            continue
        if since_break and since_break + slot > break_after_min:
            rows.append(f"| {hhmm(clock)} | **Break** | | | | | | {break_min} min |")
            clock += break_min
            total += break_min
            since_break = 0
        rows.append(f"| {hhmm(clock)} | [{e['title']}](../notebooks/{e['name']}.ipynb) "
                    f"| {_minutes(e['teaching'])} min | {_minutes(e['exercises'])} min "
                    f"| {ran} | {slowest} | {peak} | {slot} min |")
        clock += slot
        total += slot
        since_break += slot
    if day_two:
        people("Wrap-up and questions", wrap_up_min)
    rows.append(f"| {hhmm(clock)} | **End** | | | | | | {total // 60} h {total % 60:02d} min in all |")
    rows += after
    if bench:
        mach = bench.get("machine", {})
        devices = sorted({r.get("device", "?") for r in runs.values()})
        feats = ", ".join(mach.get("cpu_features") or []) or "features not recorded"
        mixed = _machines_of_rows(runs)
        if mixed:
            where = (f"(last on {bench.get('date', '?')}), each notebook on the machine its "
                     f"row names: {mixed}.")
        else:
            where = (f"on {bench.get('date', '?')}: {mach.get('cores', '?')} CPU cores "
                     f"({mach.get('cpu', '?')}; {feats}), "
                     f"precision {mach.get('precision', 'float32')},")
        note = (f"Measured with `python -m tools.lab.benchmark` {where} "
                f"TensorFlow {mach.get('tensorflow', '?')}, device: {', '.join(devices) or '?'}. "
                "A CPU without AVX-512 takes about twice as long as one with it; a GPU, "
                "a fraction of these times.")
        missing = [e["name"] for e in eps if e["name"] not in runs]
        if missing:
            note += (" Not in that benchmark yet (no run time counted): "
                     + ", ".join(missing) + ".")
    else:
        note = ("No benchmark yet: run `make bench` (`python -m tools.lab.benchmark --save "
                "instructors/benchmark.json`) to add the measured run times.")
    return "\n".join(rows) + "\n\n" + note


def _ran(r):
    """(code runs, slowest cell, peak memory) of a benchmark row, as the schedule shows them."""
    if not r:
        return "not measured", "", ""
    ran = f"{r['wall_s']:.0f} s" + (f" (failed: {r['error']})" if r.get("error") else "")
    slowest = (f"{r['slowest_s']:.0f} s (cell {r['slowest_cell']})"
               if r.get("slowest_s") is not None else "")
    # a cell tagged long-run is announced in the episode; the instructor should see it too
    slowest += "".join(f"; longer run: {t:.0f} s (cell {i})" for i, t in r.get("long_runs") or [])
    peak = f"{r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") is not None else ""
    return ran, slowest, peak


def _machines_of_rows(runs):
    """'' when every row of the benchmark was measured on one machine; else which
    notebooks ran on which machine (``--save`` of a few notebooks keeps the other rows
    and the machines they were measured on), most of them first."""
    by_machine = {}
    for name, r in sorted(runs.items()):
        by_machine.setdefault(r.get("machine", "machine not recorded"), []).append(name[:2])
    if len(by_machine) < 2:
        return ""
    order = sorted(by_machine.items(), key=lambda kv: -len(kv[1]))
    return "; ".join(f"{', '.join(names)} on {m}" for m, names in order)


def fill_markers(text, values):
    """Replace the body of every ``<!-- lesson:NAME -->...<!-- /lesson:NAME -->`` block."""
    def sub(m):
        name = m["name"]
        if name not in values:
            return m[0]
        return f"{m[1]}\n{values[name]}\n{m[4]}"
    return MARKER.sub(sub, text)


def marker_values(cfg, eps, page_dir):
    bench, _ = load_benchmark()
    up = "../" if page_dir else ""
    repo = cfg["repository_url"]
    return {
        "episodes": episode_table(cfg, eps, page_dir),
        "launch": launch_table(cfg, eps, up=up),
        "colab-cell": colab_cell(cfg),
        "pip-install": (f"`{pip_install_line(cfg)}`" if repo else NO_REPOSITORY),
        "repository": (f"<{repo}>" if repo else "(its address is not set in this copy)"),
        "clone": (f"```bash\ngit clone {repo}.git\n"
                  f"cd {repo_parts(repo)[2] or '<the folder it made>'}\n```" if repo
                  else NO_REPOSITORY),
        "schedule": schedule(eps, bench),
        "instructor-notes": _instructor_notes(),
    }


def _instructor_notes():
    return instructor_notes_markdown()


# --------------------------------------------------------------------------- staging

def _write(path: Path, data, written: set):
    """Write ``data`` (str or bytes) only if it changed, so Sphinx rebuilds only what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    if not path.exists() or path.read_bytes() != raw:
        path.write_bytes(raw)
    written.add(path.resolve())


def _copy_tree(src: Path, dst: Path, written: set, skip=()):
    for f in sorted(src.rglob("*")):
        if f.is_file() and not any(part in skip for part in f.relative_to(src).parts):
            _write(dst / f.relative_to(src), f.read_bytes(), written)


def _ordered(folder: Path, order):
    pages = {p.stem: p for p in folder.glob("*.md") if p.stem.lower() != "readme"}
    return [pages[n] for n in order if n in pages] + \
        [pages[n] for n in sorted(pages) if n not in order]


def _episode_notebook(cfg, name, executed_nb):
    """The executed notebook, with the launch badges under its title."""
    nb = site_view(executed_nb)  # no instructor notes; solutions collapsed until clicked
    badge = nbformat.v4.new_markdown_cell(badges_markdown(cfg, name))
    badge["id"] = "lesson-launch"
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        first.source = title
        nb.cells.insert(1, badge)
        if rest.strip():
            extra = nbformat.v4.new_markdown_cell(rest.strip("\n"))
            extra["id"] = "lesson-overview"
            nb.cells.insert(2, extra)
    else:
        nb.cells.insert(0, badge)
    return nb


def stage(cfg, eps, executed, log=print):
    """Copy everything Sphinx needs into _build/site-src; remove what no longer belongs."""
    written: set = set()
    _copy_tree(SITE, SRC, written, skip={"__pycache__", "config.toml"})
    _write(SRC / "_lesson.json", json.dumps(cfg, indent=1), written)
    if (ROOT / "fig").is_dir():
        _copy_tree(ROOT / "fig", SRC / "fig", written)

    # the home page: generated tables and the navigation in episode order
    index = fill_markers((SITE / "index.md").read_text(), marker_values(cfg, eps, ""))
    learners = _ordered(ROOT / "learners", LEARNER_PAGES)
    instructors = _ordered(ROOT / "instructors", INSTRUCTOR_PAGES)

    def toctree(caption, entries):
        return ("\n```{toctree}\n:caption: " + caption + "\n:maxdepth: 1\n:hidden:\n\n"
                + "\n".join(entries) + "\n```\n")
    index += toctree("Episodes", [f"notebooks/{e['name']}" for e in eps])
    index += toctree("Learners", [f"learners/{p.stem}" for p in learners])
    index += toctree("Instructors", [f"instructors/{p.stem}" for p in instructors])
    _write(SRC / "index.md", index, written)

    for folder, pages in (("learners", learners), ("instructors", instructors)):
        values = marker_values(cfg, eps, folder + "/")
        for page in pages:
            _write(SRC / folder / page.name, fill_markers(page.read_text(), values), written)
        extra = ROOT / folder / "_static"
        if extra.is_dir():
            _copy_tree(extra, SRC / folder / "_static", written)

    for e in eps:
        name = e["name"]
        _write(SRC / "notebooks" / f"{name}.ipynb",
               nbformat.writes(_episode_notebook(cfg, name, executed[name])), written)
        _write(SRC / "downloads" / "notebooks" / f"{name}.ipynb",
               (NOTEBOOKS / f"{name}.ipynb").read_bytes(), written)
        if (CODE_ALONG / f"{name}.ipynb").exists():
            _write(SRC / "downloads" / "code-along" / f"{name}.ipynb",
                   (CODE_ALONG / f"{name}.ipynb").read_bytes(), written)

    for f in SRC.rglob("*"):
        if f.is_file() and f.resolve() not in written:
            f.unlink()
    log(f"staged {len(written)} files in {SRC.relative_to(ROOT)}")


def sphinx(strict=False, quiet=True):
    from sphinx.cmd.build import build_main
    args = ["-b", "html", str(SRC), str(HTML), "-d", str(BUILD / "doctrees")]
    if quiet:
        args.append("-q")
    if strict:
        args += ["-W", "--keep-going"]
    return build_main(args)


def build(allow_execute=True, strict=False, log=print):
    """Execute what is missing, stage, run Sphinx. Returns the path of index.html."""
    t = time.perf_counter()
    cfg = config()
    eps = episodes(log=log)
    executed = ensure_executed([e["name"] for e in eps], allow_execute=allow_execute, log=log,
                               by="tools.site")
    stage(cfg, eps, executed, log=log)
    status = sphinx(strict=strict)
    if status:
        raise SystemExit(f"sphinx failed (exit status {status})")
    index = HTML / "index.html"
    log(f"website built in {time.perf_counter() - t:.0f} s: {index.relative_to(ROOT)} "
        f"({len(eps)} episodes)")
    return index


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build _build/html (executing stale notebooks first)")
    b.add_argument("--no-execute", action="store_true",
                   help="fail instead of executing a notebook whose executed copy is missing")
    b.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    s = sub.add_parser("schedule", help="print the schedule table of the instructor pages")
    s.add_argument("--write", action="store_true",
                   help="update the table in instructors/schedule.md")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        build(allow_execute=not args.no_execute, strict=args.strict)
        return 0
    bench, path = load_benchmark()
    eps = episodes()
    table = schedule(eps, bench)
    print(table)
    if args.write:
        page = ROOT / "instructors" / "schedule.md"
        page.write_text(fill_markers(page.read_text(), {"schedule": table}))
        print(f"updated {page.relative_to(ROOT)}"
              + (f" from {path.relative_to(ROOT)}" if path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
