"""The lesson's build: notebook generation, execution, the website, the quoted numbers.

The lab (benchmark, seed tables, the best-model comparison, memory limits) is in
``tools/lab``; it may import these modules, never the reverse.
"""
