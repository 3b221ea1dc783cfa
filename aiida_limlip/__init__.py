"""Machine-learning interatomic potentials for lithium metal, end to end, with AiiDA provenance.

The subpackages ``runner`` and ``analysis`` import nothing from AiiDA, so that the runner can be installed and
executed on any compute node and the analysis can be unit-tested on its own.
"""

from .code_version import code_fingerprint

__version__ = '0.1.0'
#: The fingerprint of the package's files when this process first imported it (see ``code_version``).
LOADED_FINGERPRINT = code_fingerprint()
