"""Protocols: named sets of inputs (``paper``, ``fast``, ``demo``), one YAML file per work chain.

The files follow aiida-quantumespresso: ``default_inputs``, then per protocol only what changes (plus its
``description``). The mixin is aiida-quantumespresso's, with one difference: an override key that is neither an input
port nor a key of the protocol is an error, not a warning, because a misspelt override silently runs the default.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

from aiida_quantumespresso.workflows.protocols.utils import ProtocolMixin as _QeProtocolMixin
from plumpy.ports import PortNamespace

from ..utils import recursive_merge

PROTOCOLS_DIR = pathlib.Path(__file__).parent


def unknown_keys(overrides: Mapping, known: Mapping, namespace: PortNamespace | None, path: str = '') -> list[str]:
    """Return the override keys that are neither in ``known`` (the protocol's inputs) nor ports of ``namespace``.

    Keys are followed into port namespaces that declare their ports; the values of ``Dict`` ports and of the
    protocol's own settings (e.g. ``dft_overrides``) are free-form and checked where they are used.
    """
    unknown = []
    for key, value in overrides.items():
        port = namespace.get(key) if namespace is not None else None
        if key not in known and port is None:
            unknown.append(f'{path}{key}')
            continue
        if isinstance(value, Mapping) and isinstance(port, PortNamespace) and len(port):
            sub_known = known.get(key) if isinstance(known.get(key), Mapping) else {}
            unknown += unknown_keys(value, sub_known, port, f'{path}{key}.')
    return unknown


class ProtocolMixin(_QeProtocolMixin):
    """Give a process class ``get_available_protocols``, ``get_default_protocol`` and ``get_protocol_inputs``.

    The class names its YAML file in this folder with ``_protocol_file``.
    """

    _protocol_file: str

    @classmethod
    def get_protocol_filepath(cls) -> pathlib.Path:
        """Return the path of the protocol file."""
        return PROTOCOLS_DIR / cls._protocol_file

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: Mapping | None = None) -> dict[str, Any]:
        """Return the inputs of ``protocol`` (default: the default protocol) updated recursively by ``overrides``.

        Raises
        ------
        ValueError
            If the protocol does not exist or an override key is unknown.
        """
        data = cls._load_protocol_file()
        protocol = protocol or data['default_protocol']
        if protocol not in data['protocols']:
            raise ValueError(
                f'unknown protocol {protocol!r} for {cls.__name__}; available: {", ".join(data["protocols"])}'
            )
        inputs = recursive_merge(data['default_inputs'], data['protocols'][protocol])
        inputs.pop('description', None)
        if overrides:
            unknown = unknown_keys(overrides, inputs, cls.spec().inputs)
            if unknown:
                raise ValueError(
                    f'unknown override key(s) {", ".join(unknown)} for {cls.__name__}; known: '
                    f'{", ".join(sorted(set(inputs) | set(cls.spec().inputs)))}'
                )
            inputs = recursive_merge(inputs, overrides)
        return inputs
