"""The lab: commands that measure the lesson (times, memory, seeds, the best model).

They run for minutes to hours and write the saved measurements in ``instructors/`` and
``cnnlesson/tables/``; nothing in the lesson's build (``tools/*.py``) imports them, so a
contributor who fixes a sentence or an exercise never needs them. ``python tools/lesson.py
stale`` says which measurements are out of date and which of these commands re-measures
them.
"""
