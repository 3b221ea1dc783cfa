"""Machine-learning interatomic potentials for lithium metal, end to end, with AiiDA provenance.

The subpackages ``runner`` and ``analysis`` import nothing from AiiDA, so that the runner can be installed and
executed on any compute node and the analysis can be unit-tested on its own.
"""

__version__ = '0.1.0'
