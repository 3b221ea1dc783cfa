"""Small helpers without AiiDA, shared by the pure modules and the AiiDA layer."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any


def recursive_merge(left: Mapping, right: Mapping) -> dict:
    """Return ``left`` updated by ``right``, merging nested mappings key by key (neither input is changed)."""
    merged = copy.deepcopy(dict(left))
    for key, value in right.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def finite_or_none(value: Any) -> Any:
    """Return ``value`` with every NaN or infinite float (in nested dicts and lists) replaced by None.

    The database stores no NaN: a statistic that is undefined (a reduced chi^2 of a two-point fit) becomes null.
    """
    if isinstance(value, Mapping):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def settings_from_dict(cls: type, data: Mapping, what: str) -> Any:
    """Return the dataclass ``cls`` built from ``data``, refusing keys it does not have.

    Raises
    ------
    ValueError
        Naming the unknown keys and the allowed ones, e.g. ``unknown selection setting(s) ['trust_low']``.
    """
    unknown = sorted(set(data) - set(cls.__dataclass_fields__))
    if unknown:
        raise ValueError(f'unknown {what} setting(s) {unknown}; allowed: {", ".join(cls.__dataclass_fields__)}')
    return cls(**data)
