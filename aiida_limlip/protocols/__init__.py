"""Protocols: named sets of inputs (``paper``, ``fast``, ``demo``) stored as one YAML file per work chain."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import yaml

PROTOCOLS_DIR = pathlib.Path(__file__).parent


def recursive_merge(left: dict, right: dict) -> dict:
    """Return ``left`` updated by ``right``, merging nested dictionaries key by key instead of replacing them."""
    merged = copy.deepcopy(left)
    for key, value in right.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ProtocolMixin:
    """Give a process class ``get_available_protocols``, ``get_default_protocol`` and ``get_protocol_inputs``.

    The class sets ``_protocol_file`` to the name of its YAML file in this folder. The file has a
    ``default_protocol`` and a ``protocols`` mapping: name to a ``description`` plus the inputs.
    """

    _protocol_file: str

    @classmethod
    def _load_protocol_file(cls) -> dict[str, Any]:
        with (PROTOCOLS_DIR / cls._protocol_file).open() as handle:
            return yaml.safe_load(handle)

    @classmethod
    def get_default_protocol(cls) -> str:
        """Return the name of the default protocol."""
        return cls._load_protocol_file()['default_protocol']

    @classmethod
    def get_available_protocols(cls) -> dict[str, str]:
        """Return the available protocols: name to description."""
        return {name: value['description'] for name, value in cls._load_protocol_file()['protocols'].items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict | None = None) -> dict[str, Any]:
        """Return the inputs of ``protocol`` (default: the default protocol) updated recursively by ``overrides``.

        Raises
        ------
        ValueError
            If the protocol does not exist.
        """
        data = cls._load_protocol_file()
        protocol = protocol or data['default_protocol']
        if protocol not in data['protocols']:
            raise ValueError(
                f'unknown protocol {protocol!r} for {cls.__name__}; available: {", ".join(data["protocols"])}'
            )
        inputs = copy.deepcopy(data['protocols'][protocol])
        inputs.pop('description', None)
        return recursive_merge(inputs, overrides or {})
