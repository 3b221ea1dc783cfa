"""Parsers of aiida-limlip: one per CalcJob, each reading only the retrieved files."""
