"""Which aiida-limlip code a Python process runs: a fingerprint of the package's source files (stdlib only).

A daemon worker keeps the modules it imported and imports the others from disk when first needed, so after an
upgrade (or an edit) it can mix old and new classes. The package records the fingerprint of its files when it is
first imported (:data:`aiida_limlip.LOADED_FINGERPRINT`); a work chain compares it with the files on disk when it
starts and refuses to run if they differ.
"""

from __future__ import annotations

import hashlib
import pathlib
import time

PACKAGE = pathlib.Path(__file__).parent
#: A daemon worker starts many processes a second in a campaign; the files are looked at once per this many seconds.
CACHE_SECONDS = 2.0
_cache: dict[pathlib.Path, tuple[float, str]] = {}


def code_fingerprint(root: pathlib.Path = PACKAGE) -> str:
    """Return a short hash of the names, sizes and modification times of the ``.py`` files under ``root``.

    Cheap (a ``stat`` per file, no reading), and any upgrade or edit changes it.
    """
    digest = hashlib.sha256()
    for path in sorted(root.rglob('*.py')):
        stat = path.stat()
        digest.update(f'{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};'.encode())
    return digest.hexdigest()[:16]


def stale_code_message(loaded: str, root: pathlib.Path = PACKAGE) -> str | None:
    """Return why this process must not run aiida-limlip work (its code is older than the files), or None."""
    now = time.monotonic()
    if root not in _cache or now - _cache[root][0] > CACHE_SECONDS:
        _cache[root] = (now, code_fingerprint(root))
    installed = _cache[root][1]
    if installed == loaded:
        return None
    return (
        f'this Python process imported aiida-limlip (code {loaded}) before it was upgraded or edited (code on disk '
        f'{installed}), and could mix old and new classes: run `verdi daemon restart` (or restart your Python '
        'session) and submit again'
    )
