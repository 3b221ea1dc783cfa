"""Property work chains: each generates structures, evaluates them in one batch and analyses the results.

All of them take either a ``PotentialData`` (with the ``limlip-runner`` code) or a ``pw.x`` code, through
:class:`~aiida_limlip.workchains.batch.BatchEvaluationWorkChain`.
"""
