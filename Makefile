# Shortcuts for the lesson's commands: each target runs `python3 tools/lesson.py <target>`,
# which works the same without make (Windows: `py tools\lesson.py <target>`).
# README.md explains them; `make help` lists them.
PYTHON ?= python3
LESSON := $(PYTHON) tools/lesson.py

.PHONY: help setup test notebooks check quotes prose stale lesson bench site clean doctor pins test-colab colab-env

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv with the pinned packages (and Chromium for the browser tests, where apt can install it)
	$(LESSON) setup

test:  ## run every test: unit tests, all notebooks under nbval, the prose's claims, the website in a browser
	$(LESSON) test

doctor:  ## is this Python supported, is PyPI reachable, is .venv there?
	$(LESSON) doctor

pins:  ## check that requirements.txt resolves on Windows, macOS, Linux for every supported Python (needs PyPI)
	$(LESSON) pins

test-colab:  ## run the core notebooks (00-05) on Colab's versions (tests/constraints-colab.txt)
	$(LESSON) test-colab

colab-env:  ## (re)build the Colab-versions environment in _build/colab/venv
	$(LESSON) colab-env

notebooks:  ## regenerate notebooks/ (and the code-along versions) from episodes/
	$(LESSON) notebooks

check:  ## fail if a generated file (notebooks, environment.yml) or a quoted lab number is out of date
	$(LESSON) check

quotes:  ## write the lab's saved measurements into the pages that quote them
	$(LESSON) quotes

prose:  ## how much each episode asks learners to read (words per minute, sentence length, callouts)
	$(LESSON) prose

stale:  ## list the saved measurements that are out of date, why, and how to re-measure them
	$(LESSON) stale

lesson:  ## open the lesson in JupyterLab
	$(LESSON) lesson

bench:  ## execute every notebook and print wall time, slowest cell, peak memory, device
	$(LESSON) bench

site:  ## build the lesson website into _build/html
	$(LESSON) site

clean:  ## remove build outputs (not the data cache)
	$(LESSON) clean
