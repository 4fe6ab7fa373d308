"""Every number an episode's text quotes agrees with the run that just executed it.

See tests/lessonrun.py for the marker syntax (`0.62<!--best_val_acc±0.03-->`).
"""
import re

import pytest

from lessonrun import CLAIM, DURATION_KEY, NUMBER, ROOT, claims, episode_names, numbers, prose

EPISODES = episode_names()
# Numbers that look like results (decimals, percentages, thousands) must be marked:
# either with the measured value they quote, or as <!--fixed--> (a constant or a
# figure from outside the lesson, such as a published accuracy).
RESULT_LIKE = re.compile(r"(?<![\w.])(\d+\.\d+|\d+\s?%|\d{1,3}(?:,\d{3})+)(?![\w.])")


def strip_code_and_markers(line):
    line = re.sub(r"`[^`]*`", "", line)                      # inline code
    line = re.sub(NUMBER + r"\s*<!--[^>]*-->", "", line)      # marked numbers
    line = re.sub(r"<!--.*?-->", "", line)
    line = re.sub(r"\]\([^)]*\)", "]", line)                  # link targets
    return line


@pytest.mark.parametrize("name", EPISODES)
def test_result_like_numbers_in_prose_are_marked(name):
    text = (ROOT / "episodes" / f"{name}.md").read_text()
    unmarked = []
    for i, line in prose(text):
        if line.startswith(("---", ":", "jupytext", "  ")) and i < 15:
            continue  # front matter
        for m in RESULT_LIKE.finditer(strip_code_and_markers(line)):
            unmarked.append(f"line {i}: {m.group(0)!r} in {line.strip()[:90]!r}")
    assert not unmarked, ("numbers without a claim marker (see tests/lessonrun.py):\n"
                          + "\n".join(unmarked))


def test_claim_syntax():
    m = CLAIM.search("accuracy of 0.62<!--best_val_acc±0.03--> after")
    assert (m["num"], m["key"], m["tol"], m["rel"]) == ("0.62", "best_val_acc", "0.03", None)
    m = CLAIM.search("has 122,570<!--n_params--> parameters")
    assert (m["num"], m["key"], m["tol"]) == ("122,570", "n_params", None)
    m = CLAIM.search("about 40 s<!--fit_seconds±50%-->")
    assert m is None  # the marker must follow the number directly
    m = CLAIM.search("about 40<!--fit_seconds±50%--> s")
    assert (m["key"], m["tol"], m["rel"]) == ("fit_seconds", "50", "%")
    m = CLAIM.search("62%<!--acc±3-->")
    assert m["pct"] == "%"


RUN_CLAIMS = [c for name in EPISODES for c in claims(name)]


def _id(c):
    return f"{c.episode}:{c.line}:{c.key}"


@pytest.mark.parametrize("name", EPISODES)
def test_no_duration_is_checked_against_this_run(name):
    """A test run's speed depends on its machine: times come from the benchmark."""
    bad = [f"line {c.line}: {c.key}" for c in claims(name)
           if DURATION_KEY.search(c.key) and not c.key.endswith("_ratio")]
    assert not bad, (f"{name}.md quotes durations checked against the current run, which "
                     f"fails on a slower machine; quote the benchmark's figure instead "
                     f"(<!--lab:bench.NN.KEY-->, see tools/quotes.py) or a ratio (KEY_ratio): "
                     f"{bad}")


@pytest.mark.after_notebooks
@pytest.mark.parametrize("claim", RUN_CLAIMS, ids=[_id(c) for c in RUN_CLAIMS])
def test_quoted_number_matches_the_run(claim):
    measured = numbers(claim.episode)
    assert claim.key in measured, (
        f"{claim.episode}.md line {claim.line} quotes {claim.key!r}, which the notebook's "
        f"lesson-numbers cell does not report (it has: {sorted(measured)})")
    value = measured[claim.key]
    assert claim.holds(value), (
        f"{claim.episode}.md line {claim.line}: the text says {claim.quoted}"
        f"{'%' if claim.percent else ''} (±{claim.tol}{'%' if claim.relative else ''}) "
        f"but this run measured {value}: {claim.text}")
