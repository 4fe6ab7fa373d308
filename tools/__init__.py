"""Maintainer tools: notebook generation, execution, benchmark, website."""
