"""What ``tools.lab.bestbench`` saved, summarised: its table, the goal's verdict, the
figures the episode quotes (``quotable``).

Apart from the bench itself because these only read ``instructors/bestbench.json``: the
benchmark prints the table, and importing the bench would load TensorFlow into the
benchmark's own process, whose library pages a notebook run under a memory limit then
shares without paying for them (its peak memory would be understated).
"""
from __future__ import annotations

import json
import re
import statistics

# The two rows: as the machine is, and with oneDNN limited to AVX2 (the reference's ISA).
GOAL_ACC = 0.74
GOAL_RATIO = 0.3
ROWS = {"as is": {}, "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}


def summary(row):
    t, b = row.get("tutorial"), row.get("best")
    cells = {"tutorial s": "-", "tutorial acc": "-", "best s": "-", "best acc": "-",
             "seeds": "-", "ratio": "-", "goal": "-", "precision": "-",
             "ratio, fastest epochs": "-", "flip gain, val": "-"}
    if t and t.get("runs"):  # a file saved before the pairs has none
        cells["tutorial s"] = _mean_sd([r["seconds"] for r in t["runs"]], "{:.0f}")
        cells["tutorial acc"] = _mean_sd([r["test_acc"] for r in t["runs"]], "{:.3f}")
    if b and b["runs"]:
        secs = [r["seconds"] for r in b["runs"]]
        accs = [r["test_acc"] for r in b["runs"]]
        sd = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        cells["best s"] = f"{statistics.mean(secs):.0f}"
        cells["best acc"] = f"{statistics.mean(accs):.3f} ± {sd:.3f}"
        cells["seeds"] = ",".join(str(r["seed"]) for r in b["runs"])
        cells["precision"] = b["policy"]
        gains = flip_gains(b["runs"])
        if gains:
            gain_sd = statistics.stdev(gains) if len(gains) > 1 else float("nan")
            cells["flip gain, val"] = f"{statistics.mean(gains):+.3f} ± {gain_sd:.3f}"
        r = ratios(row)
        if r["time"]:
            cells["ratio"] = _mean_sd(r["time"], "{:.2f}")
            cells["ratio, fastest epochs"] = _mean_sd(r["fastest"], "{:.2f}")
            val = [r["val_acc_flips"] for r in b["runs"]]
            cells["goal"] = goal(statistics.mean(val), r["time"], len(val))
    return cells


def ratios(row):
    """Per seed that both ran, the best model's training time over the tutorial recipe's:
    {"seeds", "time", "fastest"} (each run timed as a whole, and by its fastest epoch)."""
    tut = {r["seed"]: r for r in row.get("tutorial", {}).get("runs", [])}
    pairs = [(tut[b["seed"]], b) for b in row.get("best", {}).get("runs", [])
             if b["seed"] in tut]
    return {"seeds": [b["seed"] for _, b in pairs],
            "time": [b["seconds"] / t["seconds"] for t, b in pairs],
            "fastest": [_fastest(b) / _fastest(t) for t, b in pairs]}


def goal(mean_val_acc, time_ratios, n_seeds):
    """The goal, "met" or "not met", and "(within noise)" where the mean ratio lies
    less than one standard deviation of the ratios from the bound."""
    mean = statistics.mean(time_ratios)
    verdict = ("met" if mean_val_acc >= GOAL_ACC and mean <= GOAL_RATIO and n_seeds >= 3
               else "not met")
    close = len(time_ratios) > 1 and abs(mean - GOAL_RATIO) < statistics.stdev(time_ratios)
    if close and mean_val_acc >= GOAL_ACC:
        verdict += " (within noise)"
    return verdict


def _mean_sd(values, fmt):
    if len(values) < 2:
        return fmt.format(values[0])
    return fmt.format(statistics.mean(values)) + " ± " + fmt.format(statistics.stdev(values))


def flip_gains(runs):
    """Per seed, validation accuracy with flips minus without: what episode 8's choice
    of test-time augmentation rests on (empty for runs measured before it)."""
    return [r["val_acc_flips"] - r["val_acc"] for r in runs if "val_acc_flips" in r]


def _fastest(run):
    """The run's epochs x its fastest epoch: the time without other programs competing
    for the CPU (an estimate; the first epoch, which also compiles, is never the fastest)."""
    secs = run["epoch_seconds"]
    return min(secs) * len(secs)


def table(saved):
    head = ["row", "precision", "tutorial s", "tutorial acc", "best s", "best acc", "seeds",
            "ratio", "goal", "ratio, fastest epochs", "flip gain, val"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ROWS:
        row = saved.get("rows", {}).get(name)
        if row is None:
            continue
        c = summary(row)
        label = name + (" (= as is: " + row["same_as"] + ")" if row.get("same_as") else "")
        lines.append("| " + " | ".join([label] + [c[h] for h in head[1:]]) + " |")
    return "\n".join(lines)


def variants_table(saved):
    """Each variant beside the best model, on validation (with flips), over the seeds
    both ran, and their training time by fastest epochs."""
    head = ["row", "variant", "precision", "seeds", "val acc (flips)",
            "best model's val acc (flips)", "time by fastest epochs, variant / best"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ROWS:
        row = saved.get("rows", {}).get(name, {})
        for label, variant in row.get("variants", {}).items():
            c = compare_variant(row, variant)
            lines.append("| " + " | ".join([name, label, variant["policy"], c["seeds"],
                                            c["variant"], c["best"], c["time"]]) + " |")
    return "\n".join(lines) if len(lines) > 2 else ""


def variant_numbers(row, variant):
    """A variant and the row's best model over the seeds both ran: {"seeds", and, with
    two seeds or more, "val_acc_flips" and "best_val_acc_flips" as (mean, sd), and
    "time", the ratio of their times by fastest epochs}."""
    best = {r["seed"]: r for r in row.get("best", {}).get("runs", [])}
    pairs = [(best[r["seed"]], r) for r in variant["runs"] if r["seed"] in best]
    out = {"seeds": [v["seed"] for _, v in pairs]}
    if len(pairs) < 2:
        return out
    for key, runs in (("best_val_acc_flips", [b for b, _ in pairs]),
                      ("val_acc_flips", [v for _, v in pairs])):
        out[key] = _stats([r["val_acc_flips"] for r in runs])
    fast = [(_fastest(b), _fastest(v)) for b, v in pairs]
    out["time"] = sum(v for _, v in fast) / sum(b for b, _ in fast)
    return out


def compare_variant(row, variant):
    """:func:`variant_numbers` as the variants table shows them."""
    n = variant_numbers(row, variant)
    cells = {"seeds": ",".join(map(str, n["seeds"])) or "-",
             "variant": "-", "best": "-", "time": "-"}
    if "time" in n:
        cells.update(variant="{:.3f} ± {:.3f}".format(*n["val_acc_flips"]),
                     best="{:.3f} ± {:.3f}".format(*n["best_val_acc_flips"]),
                     time=f"{n['time']:.2f}")
    return cells


def _stats(values):
    """(mean, standard deviation) of values (sd 0 for one value)."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def slug(name):
    """'first convolution: 16 filters' -> 'first-convolution-16-filters': a name that a
    quote marker can carry (tools/quotes.py)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def quotable(saved):
    """{row slug: {key: number}}: what pages quote of this file, as ``best.ROW.KEY`` and
    ``best.ROW.variants.VARIANT.KEY`` (tools/quotes.py). Computed from the runs at every
    save and kept in the file, so that the lesson's build reads them without the lab.
    Means and standard deviations over the seeds; the ratios per pair, as ``table``."""
    out = {}
    for name, row in saved.get("rows", {}).items():
        q = {}
        tut = row.get("tutorial", {}).get("runs", [])
        best = row.get("best", {}).get("runs", [])
        if tut:
            q["tutorial_s"], q["tutorial_s_sd"] = _stats([r["seconds"] for r in tut])
            q["tutorial_test_acc"], q["tutorial_test_acc_sd"] = _stats([r["test_acc"] for r in tut])
        if best:
            accs = [r["test_acc"] for r in best if "test_acc" in r]
            if accs:
                q["test_acc"], q["test_acc_sd"] = _stats(accs)
                q["test_acc_min"], q["test_acc_max"] = min(accs), max(accs)
            q["val_acc_flips"], q["val_acc_flips_sd"] = _stats([r["val_acc_flips"] for r in best])
            gains = flip_gains(best)
            if gains:
                q["flip_gain"], q["flip_gain_sd"] = _stats(gains)
        r = ratios(row)
        if r["time"]:
            q["ratio"], q["ratio_sd"] = _stats(r["time"])
            q["fast_ratio"], q["fast_ratio_sd"] = _stats(r["fastest"])
            q["ratio_max"] = max(r["time"] + r["fastest"])  # every pair, timed either way
        q["variants"] = {}
        for label, variant in row.get("variants", {}).items():
            n = variant_numbers(row, variant)
            if "time" in n:
                q["variants"][slug(label)] = {
                    "val_acc_flips": n["val_acc_flips"][0], "val_acc_flips_sd": n["val_acc_flips"][1],
                    "val_acc_flips_low": n["val_acc_flips"][0] - n["val_acc_flips"][1],
                    "best_val_acc_flips": n["best_val_acc_flips"][0], "time": n["time"]}
        out[slug(name)] = q
    return json.loads(json.dumps(out), parse_float=lambda x: round(float(x), 6))
