"""Small helpers without AiiDA, shared by the pure modules and the AiiDA layer."""

from __future__ import annotations

import copy
from collections.abc import Mapping


def recursive_merge(left: Mapping, right: Mapping) -> dict:
    """Return ``left`` updated by ``right``, merging nested mappings key by key (neither input is changed)."""
    merged = copy.deepcopy(dict(left))
    for key, value in right.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
