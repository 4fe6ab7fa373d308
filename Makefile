# The lesson's commands. README.md explains them; `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

# Local copies of the data sets (development machines and CI): ../shared/data
# when it is there. Learners leave this unset and the lesson downloads the
# official files. Set it yourself to use another copy.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin CNNLESSON_DATA_DIR),undefined)
ifneq ($(wildcard $(SHARED_DATA)/cifar10),)
export CNNLESSON_DATA_DIR := $(SHARED_DATA)
endif
endif

.PHONY: help setup test notebooks check lesson execute bench site clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv with the pinned packages (and Chromium for the browser tests, where apt can install it)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	@bash tools/install-browser.sh
	@$(PY) -c "import tensorflow as tf, keras; print('set-up done: TensorFlow', tf.__version__, '/ Keras', keras.__version__)"

test:  ## run every test: unit tests, all notebooks under nbval, the prose's claims, the website in a browser
	$(PY) -m pytest

notebooks:  ## regenerate notebooks/ (and the code-along versions) from episodes/
	$(PY) -m tools.notebooks build

check:  ## fail if a generated file (notebooks, environment.yml) is stale
	$(PY) -m tools.notebooks check
	$(PY) -m tools.envfile --check

lesson:  ## open the lesson in JupyterLab
	$(VENV)/bin/jupyter lab notebooks/

bench:  ## execute every notebook and print wall time, slowest cell, peak memory, device
	$(PY) -m tools.benchmark --save instructors/benchmark.json

site:  ## build the lesson website into _build/html
	$(PY) -m tools.site build

clean:  ## remove build outputs (not the data cache)
	rm -rf _build
