"""The lab's numbers in the pages (tools/quotes.py): each quoted value is the saved
measurement, and writing them in keeps the form the author chose."""
import json

import pytest

from tools import quotes

BENCH = {"notebooks": [
    {"notebook": "00-check", "peak_rss_mb": 700.4, "peak_anon_mb": 300.0,
     "memory_limit": {"peak_rss_mb": 650.0}, "numbers": {}},
    {"notebook": "04-fit", "peak_rss_mb": 945.7, "peak_anon_mb": 538.9, "wall_s": 141.85,
     "memory_limit": {"peak_rss_mb": 779.4}, "numbers": {"fit_seconds": 93.49, "acc": 0.7521}},
    {"notebook": "07-best", "peak_rss_mb": 1309.2, "peak_anon_mb": 795.0,
     "memory_limit": {"peak_rss_mb": 931.0}, "numbers": {}}]}


def test_every_page_quotes_the_saved_measurements():
    found = quotes.check()
    assert not found, ("pages quote numbers that differ from the saved measurements (write "
                       "them in with `python tools/lesson.py quotes`):\n"
                       + "\n".join(f"{p}:{line}: {old} -> {new} ({name})"
                                   for p, line, old, new, name in found))


def test_the_pages_quote_the_benchmark():
    """The mechanism is in use where the lab's numbers are quoted."""
    names = {m["name"] for page in quotes.pages() for m in quotes.QUOTE.finditer(page.read_text())}
    assert {"bench.04.fit_seconds", "bench.all.max.peak_rss_mb"} <= names


@pytest.mark.parametrize("name, expected", [
    ("bench.04.fit_seconds", 93.49),              # a number its lesson-numbers cell reported
    ("bench.04.wall_s", 141.85),                  # a field of the row
    ("bench.04.limit.peak_rss_mb", 779.4),        # under the memory limit
    ("bench.00-05.max.peak_rss_mb", 945.7),       # episodes 00 to 05 only
    ("bench.all.max.peak_rss_mb", 1309.2),
    ("bench.all.min.peak_anon_mb", 300.0),
    ("bench.all.max.limit.peak_rss_mb", 931.0),
])
def test_names_reach_the_saved_values(name, expected):
    assert quotes.value(name, BENCH) == expected


@pytest.mark.parametrize("name", ["bench.04.nothing", "bench.99.wall_s", "bench.all.avg.wall_s",
                                  "bench.all.max.fit_seconds", "best.anything"])
def test_an_unknown_name_is_one_clear_error(name):
    with pytest.raises(quotes.UnknownName, match="no saved measurement is called"):
        quotes.value(name, BENCH)


@pytest.mark.parametrize("measured, written, expected", [
    (93.49, "100", "93"), (1309.2, "1,000", "1,309"), (0.7521, "0.7", "0.8"),
    (0.7521, "0.70", "0.75"), (0.7521, "70%", "75%"), (0.7521, "70.0%", "75.2%"),
])
def test_a_value_is_written_in_the_form_the_author_chose(measured, written, expected):
    assert quotes.formatted(measured, written) == expected


def test_rewriting_changes_only_the_marked_numbers_and_ignores_the_wording():
    text = ("Training took about 100<!--lab:bench.04.fit_seconds--> seconds, 5 epochs;\n"
            "peaks of 1,000<!--lab:bench.all.max.peak_rss_mb--> MB, accuracy 70%<!--lab:bench.04.acc-->.")
    new, changes = quotes.rewrite(text, BENCH)
    assert new == ("Training took about 93<!--lab:bench.04.fit_seconds--> seconds, 5 epochs;\n"
                   "peaks of 1,309<!--lab:bench.all.max.peak_rss_mb--> MB, accuracy 75%<!--lab:bench.04.acc-->.")
    assert [c[:2] for c in changes] == [("100", "93"), ("1,000", "1,309"), ("70%", "75%")]
    reworded = new.replace("Training took about", "The fit lasted roughly")
    assert quotes.rewrite(reworded, BENCH) == (reworded, [])


def test_check_lists_and_writes_the_differences(tmp_path, monkeypatch):
    (tmp_path / "episodes").mkdir()
    page = tmp_path / "episodes" / "04-fit.md"
    page.write_text("intro\nabout 100<!--lab:bench.04.fit_seconds--> seconds\n")
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    monkeypatch.setattr(quotes, "BENCHMARK", bench)
    assert quotes.check(root=tmp_path) == [
        (page.relative_to(tmp_path), 2, "100", "93", "bench.04.fit_seconds")]
    assert "100<!--" in page.read_text(), "without write, nothing changes"
    quotes.check(write=True, root=tmp_path, log=lambda _: None)
    assert page.read_text() == "intro\nabout 93<!--lab:bench.04.fit_seconds--> seconds\n"
    assert quotes.check(root=tmp_path) == []


BEST = {"quoted": {"avx2": {"ratio": 0.264415, "variants": {"first-convolution-16-filters": {"time": 0.861}}}}}


@pytest.mark.parametrize("name, expected", [
    ("best.avx2.ratio", 0.264415),
    ("best.avx2.variants.first-convolution-16-filters.time", 0.861),
])
def test_best_names_reach_the_bestbench_summary(name, expected):
    assert quotes.value(name, BENCH, BEST) == expected


@pytest.mark.parametrize("name", ["best.avx2", "best.avx2.variants", "best.as-is.ratio",
                                  "best.avx2.ratio.more"])
def test_a_best_name_that_is_not_a_number_is_one_clear_error(name):
    with pytest.raises(quotes.UnknownName, match="no saved measurement is called"):
        quotes.value(name, BENCH, BEST)
