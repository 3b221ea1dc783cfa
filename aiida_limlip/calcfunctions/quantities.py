"""Scalar results as nodes that carry their unit."""

from __future__ import annotations

from aiida import orm


def quantity(value: float, unit: str, label: str, description: str) -> orm.Float:
    """Return an unstored ``Float`` with attribute ``unit``, a label, and a description stating value and unit.

    ``verdi node show`` prints label and description, so the unit is visible there; the ``unit`` attribute is what
    queries use.
    """
    node = orm.Float(value)
    node.base.attributes.set('unit', unit)
    node.label = label
    node.description = f'{description}: {value:.6g} {unit}'.strip()
    return node
