"""tools/prose.py: what a learner reads, counted the way the lesson's density goals say."""
import textwrap

from tools import prose

EPISODE = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        format_name: myst
    ---

    # 9. A test episode

    > **Overview** · Teaching: 5 min · Exercises: 5 min

    A **tensor** is an array. It has a **shape** and a dtype, and the shape says how many numbers lie along each of its axes, one count per axis, in order.

    > **Watch out: shapes.** A tensor's shape is a tuple.

    <details><summary>For the curious</summary>

    Hidden words do not count here at all.

    </details>

    ```{code-cell} ipython3
    x = 1  # code does not count
    ```

    > **Instructor note: not for learners.** These words are left out too.

    ## Challenge 1: one more

    Count the axes.<!--fixed-->
    """)


def test_visible_prose_is_counted_and_the_rest_is_not(tmp_path):
    md = tmp_path / "09-test.md"
    md.write_text(EPISODE)
    p = prose.measure(md)
    assert p.minutes == 10
    # sentences: 'A tensor is an array.' (5), the long one (26), the callout (9),
    # 'Count the axes.' (3); the overview box and the heading are not sentences
    assert sorted(p.sentences) == [3, 5, 9, 26]
    assert p.long_share == 0.25 and p.mean_sentence == 10.75
    assert p.callouts == 1 and p.callouts_per_20_min == 2.0
    assert p.bold_terms == 2, "tensor and shape; labels are not terms"
    # the sentences, the overview line (7) and the two headings (4 + 4); nothing hidden
    assert p.words == 43 + 7 + 8
    assert "!" in prose.table([p]), "a missed goal is marked"


def test_the_report_covers_every_episode_and_the_core():
    text = prose.report()
    assert "| 04-compile-and-fit |" in text and "| core (01-05) |" in text
