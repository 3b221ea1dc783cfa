"""Calcfunctions: light analysis with provenance, each wrapping a pure function of ``aiida_limlip.analysis``."""
