"""Sphinx configuration of the lesson website.

Do not run Sphinx on this folder directly: ``make site`` (``python -m tools.site
build``) copies it, with the executed notebooks and the learner and instructor
pages, into ``_build/site-src`` and builds ``_build/html`` from there.

Why Sphinx + MyST-NB + sphinx-book-theme (the Jupyter Book 1 stack) rather than
Jupyter Book 2 / mystmd: everything here comes from pip packages pinned in
requirements.txt and the build runs fully offline. mystmd needs Node.js and
downloads its theme at build time, which neither CI nor a classroom without
internet can rely on.
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Written by tools/site.py: site/config.toml with the overrides applied. Its
# repository_url is null when no repository is known (tools.site.repository_url): then
# the theme shows no repository button and no launch buttons either.
LESSON = json.loads((HERE / "_lesson.json").read_text())
REPOSITORY = LESSON["repository_url"]

project = LESSON["title"]
author = LESSON["author"]
copyright = "the lesson's contributors; text CC BY 4.0, code MIT"

extensions = ["myst_nb", "sphinx_copybutton"]

# The notebooks were executed by nbval during `make test` (or by tools/site.py):
# the site shows those outputs and never runs anything itself.
nb_execution_mode = "off"
# TensorFlow's log lines go to stderr: not part of the lesson.
nb_output_stderr = "remove"
nb_merge_streams = True

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "substitution"]
myst_heading_anchors = 3
myst_substitutions = {
    "repository_url": REPOSITORY or "",
    "branch": LESSON["branch"],
}

exclude_patterns = ["_build", "downloads/**", "**.ipynb_checkpoints", "README.md"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = LESSON["title"]
html_static_path = ["_static"]
html_css_files = ["lesson.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
# Without a default mode, pydata-sphinx-theme logs "Got invalid theme mode" as a console
# error on a visitor's first page. Light suits projectors and the figures.
html_context = {"default_mode": "light"}
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
if REPOSITORY:
    html_theme_options.update({
        "repository_url": REPOSITORY,
        "repository_branch": LESSON["branch"],
        "path_to_docs": "",  # the staged notebooks/NN.ipynb sit where they are in the repository
        "use_repository_button": True,
        "launch_buttons": {
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
            "notebook_interface": "jupyterlab",
        },
    })
