"""The repository address comes from one setting, so that no link points nowhere.

tools.site.repository_url: CNNLESSON_REPOSITORY_URL, else site/config.toml's
repository_url, else the checkout's `git remote get-url origin`; with none, the badges,
clone lines and Colab's install cell are left out and one sentence says how to turn them
on. The rendered site is checked in a browser by tests/test_site_browser.py.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tools import site


@pytest.mark.parametrize("remote,expected", [
    ("https://github.com/me/cnn-lesson", "https://github.com/me/cnn-lesson"),
    ("https://github.com/me/cnn-lesson.git", "https://github.com/me/cnn-lesson"),
    ("git@github.com:me/cnn-lesson.git", "https://github.com/me/cnn-lesson"),
    ("ssh://git@github.com:22/me/cnn-lesson.git", "https://github.com/me/cnn-lesson"),
    ("https://user:secret-token@github.com/me/cnn-lesson/", "https://github.com/me/cnn-lesson"),
    ("https://gitlab.com/group/lesson.git", "https://gitlab.com/group/lesson"),
    ("/home/me/cnn-lesson", None),             # a clone of a local folder
    ("file:///home/me/cnn-lesson", None),
    ("../cnn-lesson.git", None),
    ("", None),
    (None, None),
])
def test_remotes_are_normalised_without_credentials(remote, expected):
    assert site.normalise_repository(remote) == expected


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_default_is_the_checkouts_origin(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLESSON_REPOSITORY_URL", raising=False)
    _git("init", "-q", cwd=tmp_path)
    assert site.repository_url("", root=tmp_path) is None  # no remote at all
    _git("remote", "add", "origin", "git@github.com:a-fork/cnn-lesson.git", cwd=tmp_path)
    assert site.repository_url("", root=tmp_path) == "https://github.com/a-fork/cnn-lesson"
    # the setting wins over the remote, the environment variable over both
    assert site.repository_url("https://github.com/x/y", root=tmp_path) == "https://github.com/x/y"
    monkeypatch.setenv("CNNLESSON_REPOSITORY_URL", "https://github.com/z/w.git")
    assert site.repository_url("https://github.com/x/y", root=tmp_path) == "https://github.com/z/w"


def test_a_setting_that_is_no_web_address_is_refused_in_one_sentence(monkeypatch):
    monkeypatch.delenv("CNNLESSON_REPOSITORY_URL", raising=False)
    with pytest.raises(SystemExit, match="https://github.com/OWNER/REPO"):
        site.repository_url("/home/me/lesson")


def _cfg(repo):
    return {"repository_url": repo, "branch": "main"}


def test_without_a_repository_nothing_points_anywhere():
    cfg = _cfg(None)
    eps = [{"name": "01-introduction", "title": "Introduction", "number": 1,
            "teaching": 10, "exercises": 5}]
    rendered = "\n".join([site.badges_markdown(cfg, "01-introduction"),
                          site.launch_table(cfg, eps), site.colab_cell(cfg)]
                         + [v for k, v in site.marker_values(cfg, eps, "learners/").items()
                            if k in ("pip-install", "repository", "clone", "colab-cell")])
    for host in ("mybinder.org", "colab.research.google.com", "github.com", "git clone"):
        assert host not in rendered
    assert site.NO_REPOSITORY in rendered and "site/config.toml" in site.NO_REPOSITORY
    assert site.NO_REPOSITORY.count(". ") == 0  # one sentence
    assert "downloads/notebooks/01-introduction.ipynb" in rendered  # downloads stay


def test_with_a_repository_every_link_names_it():
    cfg = _cfg("https://github.com/a-fork/cnn-lesson")
    links = site.launch_links(cfg, "notebooks/01-introduction.ipynb")
    assert links["binder"].startswith("https://mybinder.org/v2/gh/a-fork/cnn-lesson/main")
    assert links["colab"] == ("https://colab.research.google.com/github/a-fork/cnn-lesson/"
                              "blob/main/notebooks/01-introduction.ipynb")
    assert site.pip_install_line(cfg) == ('pip install --quiet "cnnlesson @ '
                                          'git+https://github.com/a-fork/cnn-lesson.git@main"')
    values = site.marker_values(cfg, [], "learners/")
    assert "git clone https://github.com/a-fork/cnn-lesson.git" in values["clone"]
    assert site.NO_REPOSITORY not in "".join(values.values())


def test_config_names_the_hosts_links_may_point_at(monkeypatch):
    monkeypatch.setenv("CNNLESSON_REPOSITORY_URL", "https://github.com/a-fork/cnn-lesson")
    cfg = site.config()
    assert {"github.com", "mybinder.org", "colab.research.google.com"} <= set(cfg["link_hosts"])
    monkeypatch.setattr(site, "repository_url", lambda *a, **k: None)
    cfg = site.config()
    assert not {"github.com", "mybinder.org", "colab.research.google.com"} & set(cfg["link_hosts"])
    assert cfg["repository_url"] is None
