"""Every episode has what a lesson page needs, and every figure says what it shows."""
import re

import pytest

from lessonrun import ROOT, episode_names, executed, prose
from tools.facts import CORE as CORE_EPISODES
from tools.notebooks import from_source

EPISODES = episode_names()


def source(name):
    return (ROOT / "episodes" / f"{name}.md").read_text()


def code_sources(name):
    """The code of an episode's code cells, one string per cell, stripped."""
    return [c.source.strip() for c in from_source(ROOT / "episodes" / f"{name}.md").cells
            if c.cell_type == "code"]


@pytest.mark.parametrize("name", EPISODES)
def test_episode_has_the_parts_of_a_lesson(name):
    text = source(name)
    number = int(name[:2])
    assert re.search(rf"^# {number}\. \S", text, re.M), "title must be '# N. Title'"
    assert re.search(r"^> \*\*Overview\*\* · Teaching: \d+ min · Exercises: \d+ min", text, re.M)
    assert "> **Questions**" in text and "> **Objectives**" in text
    assert re.search(r"^## Key points\s*$", text, re.M)
    challenges = re.findall(r"^#{2,3} Challenge", text, re.M)
    solutions = re.findall(r"^#{3,4} Solution", text, re.M)
    assert challenges, "at least one challenge"
    assert len(solutions) >= len(challenges), "every challenge has a worked solution"


@pytest.mark.parametrize("name", EPISODES)
def test_static_images_exist_and_have_alt_text(name):
    for i, line in prose(source(name)):
        for alt, target in re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", line):
            assert len(alt.split()) >= 5, f"line {i}: alt text too short: {alt!r}"
            assert (ROOT / "episodes" / target).resolve().exists(), f"line {i}: {target} missing"


@pytest.mark.after_notebooks
@pytest.mark.parametrize("name", EPISODES)
def test_every_figure_output_has_alt_text(name):
    nb = executed(name)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        if alt and "raises-exception" not in cell.metadata.get("tags", []):
            # the reverse: a cell described as a figure really drew one in this run
            assert images, f"{name}, cell {i} has alt text but drew no figure in this run"
        if not images:
            continue
        assert len(alt.split()) >= 6, (
            f"{name}, cell {i} draws a figure but has no alt text that says what it shows "
            f"(metadata mystnb.image.alt):\n{cell.source[:200]}")


@pytest.mark.parametrize("name", EPISODES)
def test_generated_notebook_has_one_lesson_numbers_cell(name):
    nb = from_source(ROOT / "episodes" / f"{name}.md")
    tagged = [c for c in nb.cells if "lesson-numbers" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "quoted_numbers(" in tagged[0].source


# ------------------------------------------------ one length for the core lesson (01-05)

CORE = [n for n in EPISODES if n[:2] in CORE_EPISODES]  # episode 00 is homework
CORE_MAX_MIN = 180        # teaching + exercises of 01-05
WORKSHOP_MAX_MIN = 240    # the schedule of the core: welcome, breaks, code runs, wrap-up
STATED = re.compile(r"(\d+) minutes of teaching and exercises")


def overview_minutes(name):
    m = re.search(r"^> \*\*Overview\*\* · Teaching: (\d+) min · Exercises: (\d+) min",
                  source(name), re.M)
    return int(m[1]) + int(m[2])


def test_the_core_lesson_has_one_length_and_it_fits_a_half_day():
    total = sum(overview_minutes(n) for n in CORE)
    assert total <= CORE_MAX_MIN, f"episodes 01-05 add up to {total} minutes"
    for page in ("README.md", "instructors/index.md", "instructors/schedule.md"):
        stated = {int(x) for x in STATED.findall((ROOT / page).read_text())}
        assert stated == {total}, (
            f"{page} states {sorted(stated) or 'no'} minutes of teaching and exercises; "
            f"the overview lines of episodes 01-05 add up to {total}")


def test_the_schedule_of_the_core_has_time_for_people_and_fits_four_hours():
    """instructors/schedule.md (rendered by `python -m tools.site schedule --write`):
    episode 0 before the workshop; a welcome, two breaks and a wrap-up around the core;
    from the welcome to the end of the core lesson, at most four hours."""
    text = (ROOT / "instructors" / "schedule.md").read_text()
    assert re.search(r"^\| before \| \[0\. .*before the workshop", text, re.M)
    start = re.search(r"^\| (\d\d):(\d\d) \| \*\*Welcome, set-up check", text, re.M)
    end = re.search(r"^\| (\d\d):(\d\d) \| \*\*End of the core lesson\*\*", text, re.M)
    assert start and end, "the schedule starts with a welcome and marks the end of the core"
    core = text[start.start():end.start()]
    assert len(re.findall(r"\*\*Break\*\*", core)) == 2 and "**Wrap-up and questions**" in core
    minutes = (int(end[1]) * 60 + int(end[2])) - (int(start[1]) * 60 + int(start[2]))
    assert minutes <= WORKSHOP_MAX_MIN, f"the core lesson's schedule takes {minutes} minutes"
    rows = re.findall(r"^\| (?:\d\d:\d\d|before|after) \| \[(\d+)\. .*?\| (\d+) min \| (\d+) min \|",
                      text, re.M)
    assert {int(n) for n, _, _ in rows} == {int(n[:2]) for n in EPISODES}
    for number, teaching, exercises in rows:
        name = next(n for n in EPISODES if int(n[:2]) == int(number))
        assert int(teaching) + int(exercises) == overview_minutes(name), (
            f"the schedule is stale for {name}: run `python -m tools.site schedule --write`")


OPTIONAL_MAX_MIN = 20  # teaching + exercises of an optional episode
OPTIONAL = re.compile(r"^> \*\*Overview\*\* · .* · Optional, after the course$", re.M)


def test_optional_episodes_come_after_the_course_and_stay_out_of_its_length():
    """An optional episode (its overview line ends '· Optional, after the course') takes
    at most 20 minutes, comes after every other episode, and the schedule lists it after
    the end, with its measured run time, without counting it in the course's length."""
    from tools import site
    optional = [n for n in EPISODES if OPTIONAL.search(source(n))]
    assert "12-from-notebook-to-script" in optional
    last_of_course = max(int(n[:2]) for n in EPISODES if n not in optional)
    text = (ROOT / "instructors" / "schedule.md").read_text()
    end = re.search(r"^\| \d\d:\d\d \| \*\*End\*\* \|", text, re.M)
    for name in optional:
        assert overview_minutes(name) <= OPTIONAL_MAX_MIN, name
        assert int(name[:2]) > last_of_course, f"{name} comes before the end of the course"
        row = re.search(rf"^\| after \| \[{int(name[:2])}\. .*\(optional, after the course\) .*"
                        r"\| not counted \|$", text, re.M)
        assert row and end and row.start() > end.start(), f"{name}: no row after the end"
    eps, bench = site.episodes(), site.load_benchmark()[0]
    end_row = re.compile(r"^\| \d\d:\d\d \| \*\*End\*\* .*$", re.M)
    assert (end_row.search(site.schedule(eps, bench))[0]
            == end_row.search(site.schedule([e for e in eps if not e["optional"]], bench))[0])


def test_the_schedule_names_each_rows_machine_when_they_differ():
    """A benchmark saved for a few notebooks keeps the other rows and their machines: the
    schedule's note then says which notebook ran where, not the last machine for all."""
    from tools import site
    eps = [{"name": n, "title": n, "number": int(n[:2]), "teaching": 10, "exercises": 5}
           for n in ("00-a", "01-b")]
    row = {"wall_s": 60.0, "device": "CPU"}
    one = {"machine": {"cores": 2, "cpu": "X"}, "date": "d",
           "notebooks": [{**row, "notebook": "00-a", "machine": "fast"},
                         {**row, "notebook": "01-b", "machine": "fast"}]}
    assert "each notebook on the machine" not in site.schedule(eps, one)
    two = {**one, "notebooks": [{**row, "notebook": "00-a", "machine": "fast"},
                                {**row, "notebook": "01-b", "machine": "slow"}]}
    assert "each notebook on the machine its row names: 00 on fast; 01 on slow" in \
        site.schedule(eps, two)


def test_episode_8_repeats_episode_7s_settings_and_training_code_unchanged():
    """Each notebook runs on its own, so episode 8 shows episode 7's RunConfig,
    build_model and train again, ready to run. The two copies must not drift apart:
    episode 8's (the one the lab reuses, tagged reuse-NAME) must be a cell of episode 7,
    character for character."""
    from tools.notebooks import code_cells
    seven = set(code_sources("07-improve-training"))
    repeated = code_cells(ROOT / "episodes" / "08-search-and-best-model.md",
                          ("run-config", "search-model"))
    assert len(repeated) == 2
    for name, source in repeated.items():
        assert source.strip() in seven, (
            f"episode 8's cell reuse-{name} differs from episode 7's: edit both the same way")


def test_episode_9_trains_with_episode_7s_code_unchanged():
    """Episode 9 saves the lesson's dropout model, built and trained by the same
    functions as in episodes 7 and 8, shown again so that the notebook runs on its own."""
    seven = set(code_sources("07-improve-training"))
    nine = [cell for cell in code_sources("09-save-and-share")
            if "class RunConfig" in cell or "def build_model" in cell]
    assert len(nine) == 2, "episode 9 shows RunConfig and build_model/train, once each"
    for cell in nine:
        assert cell in seven, "episode 9's copy differs from episode 7's: edit both the same way"
    assert "def build_model(dropout" not in source("09-save-and-share"), (
        "a second way to build the lesson's CNN")


@pytest.mark.parametrize("name", EPISODES)
def test_a_long_run_is_announced_with_its_time(name):
    """A cell tagged long-run may take longer than the cell budget, so the benchmark
    leaves it out of the slowest cell. Learners must not meet it unwarned: the Markdown
    just before it calls it a longer run and quotes its benchmarked time."""
    from tools.notebooks import LONG_RUN_TAG, tags
    cells = from_source(ROOT / "episodes" / f"{name}.md").cells
    for i, cell in enumerate(cells):
        if LONG_RUN_TAG not in tags(cell):
            continue
        before = cells[i - 1] if i else None
        assert before is not None and before.cell_type == "markdown", (
            f"cell {i} is a long run with no text before it")
        assert "longer run" in before.source, f"cell {i}: say it is a longer run"
        assert re.search(r"<!--lab:bench\.\d\d\.\w+-->", before.source), (
            f"cell {i}: quote its time from the benchmark (a lab:bench marker)")
