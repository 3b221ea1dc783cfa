"""Calcfunctions: light analysis with provenance, each wrapping a pure function of ``aiida_limlip.analysis``.

Exit codes, the same in every one: 410 when the data cannot be analysed (a missing stress, a non-positive surface
energy, predictions that do not match the test set), 411 when the fit or the analysis itself fails. The property
work chains turn either into their 403 ``ERROR_ANALYSIS_FAILED``, with this message.
"""
