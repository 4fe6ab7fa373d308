"""How much a learner reads, per episode: the figures the lesson's density goals use.

    python -m tools.prose          # = python tools/lesson.py prose: a table per episode

Counted on **visible prose**, what a learner reads without opening anything: the
learner notebook's Markdown, without code, without collapsed blocks (answers, "For the
curious" asides in ``<details>``), without HTML comments, headings or tables (the
instructor notes are already left out of that notebook). For each episode:

* words, and words per stated minute (teaching + exercises, from the overview line);
* sentences: their mean length in words and the share longer than 25 words;
* always-open callouts (blockquotes that start with a bold label, such as
  ``> **Watch out: ...**``), and how many that is per 20 stated minutes;
* bolded terms (distinct ``**term**`` outside callout labels and the overview), the new
  words an episode asks learners to hold.

The goals (``GOALS``) are those the lesson sets itself: at most 38 words per stated
minute, a mean sentence of at most 16 words, at most 10 % of sentences over 25 words,
at most one always-open callout per 20 minutes, at most 10 bolded terms per episode.
A table, not a test: rewriting prose is judgement, and the table shows where to look.

Our own counter rather than a readability library (textstat and the like): those score
whole texts with formulas built for English schoolbooks, and none knows which parts of
a notebook a learner sees.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
from dataclasses import dataclass

from tools.notebooks import episode_sources, from_source, learner

GOALS = {"words_per_min": 38, "mean_sentence": 16, "long_share": 0.10,
         "callouts_per_20_min": 1, "bold_terms": 10}
LONG_SENTENCE = 25
OVERVIEW = re.compile(r"^> \*\*Overview\*\* · Teaching: (\d+) min · Exercises: (\d+) min", re.M)
DETAILS = re.compile(r"<details\b.*?</details>", re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CALLOUT = re.compile(r"^> \*\*[^*]+\*\*")
BOLD = re.compile(r"\*\*([^*]+?)\*\*")
LABELS = re.compile(r"^(Overview|Questions|Objectives|Quick check|Watch out|Note|"
                    r"For the curious|Solution|Answer|Hint|Key points)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\"'])")
WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")


@dataclass
class Prose:
    episode: str
    minutes: int
    words: int
    sentences: list  # word counts
    callouts: int
    bold_terms: int

    @property
    def words_per_min(self):
        return self.words / self.minutes if self.minutes else float("nan")

    @property
    def mean_sentence(self):
        return statistics.mean(self.sentences) if self.sentences else 0.0

    @property
    def long_share(self):
        return (sum(n > LONG_SENTENCE for n in self.sentences) / len(self.sentences)
                if self.sentences else 0.0)

    @property
    def callouts_per_20_min(self):
        return self.callouts * 20 / self.minutes if self.minutes else float("nan")


def visible(markdown: str) -> str:
    """What a learner sees of a Markdown cell without opening anything."""
    for pattern in (DETAILS, COMMENT, FENCE):
        markdown = pattern.sub("", markdown)
    return markdown


def _units(text: str):
    """The text's sentences (list items and lines of a blockquote's list count as one
    each), without headings and tables."""
    paragraphs, current = [], []
    for line in text.split("\n"):
        stripped = line.lstrip("> ").strip()
        if (not stripped or stripped.startswith(("#", "|", "![", "**Overview**"))
                or re.fullmatch(r"[-*_]{3,}", stripped)):
            paragraphs.append(" ".join(current))
            current = []
        elif re.match(r"^([-*+]|\d+\.)\s", stripped):
            paragraphs.append(" ".join(current))
            current = [re.sub(r"^([-*+]|\d+\.)\s+", "", stripped)]
        else:
            current.append(stripped)
    paragraphs.append(" ".join(current))
    for para in paragraphs:
        for sentence in SENTENCE_END.split(para):
            if WORD.search(sentence):
                yield sentence


def measure(md_path) -> Prose:
    source = md_path.read_text()
    m = OVERVIEW.search(source)
    minutes = int(m[1]) + int(m[2]) if m else 0
    cells = [c.source for c in learner(from_source(md_path)).cells if c.cell_type == "markdown"]
    text = "\n\n".join(visible(c) for c in cells)
    callouts = sum(1 for line in text.split("\n") if _is_callout(line))
    bold = {b.strip().lower() for b in BOLD.findall(text) if not LABELS.match(b.strip())}
    sentences = [len(WORD.findall(s)) for s in _units(text)]
    return Prose(md_path.stem, minutes, len(WORD.findall(text)), sentences, callouts, len(bold))


def _is_callout(line):
    """A blockquote that opens with a bold label (not the overview box)."""
    m = CALLOUT.match(line)
    return bool(m) and not line.startswith(("> **Overview**", "> **Questions**", "> **Objectives**"))


def table(rows) -> str:
    head = ["episode", "stated min", "words", "words/min", "mean sentence", "over 25 words",
            "callouts", "per 20 min", "bold terms"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def flag(value, goal):
        return "" if value <= goal else " !"
    for p in rows:
        out.append(
            f"| {p.episode} | {p.minutes} | {p.words:,} "
            f"| {p.words_per_min:.0f}{flag(p.words_per_min, GOALS['words_per_min'])} "
            f"| {p.mean_sentence:.1f}{flag(p.mean_sentence, GOALS['mean_sentence'])} "
            f"| {p.long_share:.0%}{flag(p.long_share, GOALS['long_share'])} "
            f"| {p.callouts} | {p.callouts_per_20_min:.1f}"
            f"{flag(p.callouts_per_20_min, GOALS['callouts_per_20_min'])} "
            f"| {p.bold_terms}{flag(p.bold_terms, GOALS['bold_terms'])} |")
    return "\n".join(out)


def combined(name, rows) -> Prose:
    """Several episodes as one (their words, sentences and minutes added up)."""
    return Prose(name, sum(p.minutes for p in rows), sum(p.words for p in rows),
                 [n for p in rows for n in p.sentences], sum(p.callouts for p in rows),
                 max((p.bold_terms for p in rows), default=0))


def report(episodes=None) -> str:
    rows = [measure(md) for md in episode_sources()
            if not episodes or md.stem[:2] in episodes or md.stem in episodes]
    core = [p for p in rows if p.episode[:2] in ("01", "02", "03", "04", "05")]
    if core and len(core) < len(rows):
        rows.append(combined("core (01-05)", core))
    return (table(rows) + "\n\n'!' marks a goal missed: at most "
            f"{GOALS['words_per_min']} words per stated minute, a mean sentence of at most "
            f"{GOALS['mean_sentence']} words, at most {GOALS['long_share']:.0%} of sentences "
            f"over {LONG_SENTENCE} words, at most {GOALS['callouts_per_20_min']} always-open "
            f"callout per 20 minutes, at most {GOALS['bold_terms']} bolded terms per episode "
            "(the core's row: the most of any of its episodes).")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("episodes", nargs="*", help="episode numbers or names (default: all)")
    args = ap.parse_args(argv)
    print(report(args.episodes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
