"""tools/stale.py: which saved measurements no longer describe the lesson, and why."""
import io
import json

from tools import stale
from tools.lab import machine as lab_machine

PINS = {"tensorflow": "2.21.0", "keras": "3.15.1"}
CODE = {"04-fit": "abc"}


def _m(stamp):
    return stale.Measurement("benchmark of 04-fit", "benchmark.json", stamp, "redo", 60)


def _stamp(**changes):
    return {"code": {"04-fit": "abc"}, "tensorflow": "2.21.0", "keras": "3.15.1",
            "machine_class": stale.REFERENCE_CLASS, **changes}


def test_a_current_measurement_on_the_reference_machine_is_ok():
    m = stale.judge(_m(_stamp()), CODE, PINS)
    assert not m.stale and m.note == ""


def test_each_reason_to_be_stale_is_named():
    assert stale.judge(_m(_stamp(code={"04-fit": "old"})), CODE, PINS).reasons == [
        "the code of 04-fit changed"]
    assert stale.judge(_m(_stamp(keras="3.14.0")), CODE, PINS).reasons == [
        "keras 3.14.0, pinned 3.15.1"]
    assert stale.judge(_m(_stamp(code={"03-gone": "x"})), CODE, PINS).reasons == [
        "episode 03-gone is gone"]
    assert stale.judge(_m(None), CODE, PINS).reasons == ["saved without a stamp"]


def test_another_machine_class_is_a_note_not_staleness():
    m = stale.judge(_m(_stamp(machine_class="2 cores, AVX-512 BF16, capped at AVX2")), CODE, PINS)
    assert not m.stale and "the reference is 2 cores, AVX2 only" in m.note


def test_machine_classes():
    assert stale.machine_class(2, ["AVX2"]) == stale.REFERENCE_CLASS == "2 cores, AVX2 only"
    assert stale.machine_class(2, ["AVX2", "AVX-512", "AVX-512 BF16"], "AVX2") == (
        "2 cores, AVX-512 BF16, capped at AVX2")
    assert stale.machine_class(8, ["AVX2", "AVX-512"]) == "8 cores, AVX-512"


def test_the_lab_stamps_what_stale_reads():
    s = lab_machine.stamp(["04-compile-and-fit"], {"tensorflow": "2.21.0", "keras": "3.15.1",
                                                   "cores": 2, "cpu_features": ["AVX2"]})
    m = stale.judge(_m(s), {"04-compile-and-fit": s["code"]["04-compile-and-fit"]}, PINS)
    assert not m.stale and not m.note and len(s["code"]["04-compile-and-fit"]) == 64


def test_every_saved_measurement_carries_a_stamp():
    found = stale.measurements()
    assert {"benchmark of 04-compile-and-fit", "seed table search_seeds"} <= {m.what for m in found}
    assert any(m.what.startswith("best model against the tutorial") for m in found)
    unstamped = [m.what for m in found if not m.stamp]
    assert not unstamped, f"saved without a stamp: {unstamped}"


def test_the_report_names_what_is_stale_and_how_to_redo_it_without_failing(tmp_path, monkeypatch):
    bench = tmp_path / "benchmark.json"
    bench.write_text(json.dumps({"notebooks": [
        {"notebook": "04-compile-and-fit", "wall_s": 150, "stamp": _stamp(code={"04-compile-and-fit": "old"})}]}))
    monkeypatch.setattr(stale, "BENCHMARK", bench)
    monkeypatch.setattr(stale, "BESTBENCH", tmp_path / "none.json")
    monkeypatch.setattr(stale, "TABLES", tmp_path)
    out = io.StringIO()
    assert stale.report(out=out) == 0, "a stale measurement never fails a plain run"
    text = out.getvalue()
    assert "STALE benchmark of 04-compile-and-fit" in text and "code of 04-compile-and-fit changed" in text
    assert "python -m tools.lab.benchmark 04 --save instructors/benchmark.json" in text
    assert "about 5 minutes in all" in text
    assert stale.report(strict=True, out=io.StringIO()) == 1


def test_a_tables_stamp_line_is_read(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("# made so\n# python -m tools.sweep --seeds 1 | 2026 | machine\n"
                     + stale.STAMP_LINE + json.dumps(_stamp(seconds=120)) + "\nseed,x\n1,2\n")
    stamp, command = stale.read_table_stamp(table)
    assert stamp["seconds"] == 120 and command == "python -m tools.sweep --seeds 1"


def test_a_measurement_of_some_cells_is_stale_only_when_those_cells_change(tmp_path, monkeypatch):
    from tools import notebooks
    md = tmp_path / "07-x.md"
    head = "---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n# T\n\n"
    cell = "```{code-cell} ipython3\n:tags: [reuse-model]\n\ndef model():\n    return 1\n```\n"
    md.write_text(head + cell + "\nProse.\n\n```{code-cell} ipython3\nx = 2\n```\n")
    monkeypatch.setattr(notebooks, "EPISODES", tmp_path)
    fp = notebooks.cells_fingerprint("07-x", ["model"])
    m = _m({**_stamp(), "code": {"07-x#model": fp}})
    current = {"07-x": "any"}
    assert not stale.judge(m, current, PINS).stale
    md.write_text(head + cell + "\nOther prose.\n\n```{code-cell} ipython3\nx = 3\n```\n")
    assert not stale.judge(m, current, PINS).stale, "another cell changed: still current"
    md.write_text(head + cell.replace("return 1", "return 2"))
    assert stale.judge(m, current, PINS).reasons == ["the cells model of 07-x changed"]
    md.write_text(head + cell.replace("reuse-model", "keep"))
    assert stale.judge(m, current, PINS).reasons == ["07-x no longer has the cells tagged reuse-model"]


def test_an_episode_without_a_benchmark_row_is_listed_with_the_command_that_measures_it(
        tmp_path, monkeypatch):
    bench = tmp_path / "benchmark.json"
    bench.write_text(json.dumps({"notebooks": [
        {"notebook": "04-compile-and-fit", "wall_s": 150, "stamp": _stamp()}]}))
    monkeypatch.setattr(stale, "BENCHMARK", bench)
    gone = {m.what for m in stale.missing()}
    assert "benchmark of 03-build-a-cnn" in gone and "benchmark of 04-compile-and-fit" not in gone
    out = io.StringIO()
    assert stale.report(out=out) == 0, "a missing measurement never fails a plain run"
    assert "STALE benchmark of 03-build-a-cnn (benchmark.json): not measured yet" in out.getvalue()
    assert "python -m tools.lab.benchmark 03 --save instructors/benchmark.json" in out.getvalue()
