"""Node types of aiida-limlip."""

from .potential import PotentialData

__all__ = ('PotentialData',)
