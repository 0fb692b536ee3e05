"""Outcomes: what a program targets, declared in program.toml, each turned into one analysis frame."""
