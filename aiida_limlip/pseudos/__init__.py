"""The PAW data set of the paper, regenerated with QE's ``ld1.x`` from pslibrary 1.0.0's published parameters.

``Li.pbe-s-kjpaw_psl.1.0.0.ld1.in`` beside this file is our ld1.x input: scalar-relativistic PBE PAW, 1s semicore
(3 valence electrons), Troullier-Martins pseudization, local potential from the smoothed AE potential (rcloc 0.6
bohr), PSQ augmentation, channels 1S/2S (rc 0.8/1.0 bohr) and two 2P (rc 0.85/1.2 bohr).
"""

from .generate import PSEUDO_FILENAME, generate_li_paw, rewrap_long_lines

__all__ = ('PSEUDO_FILENAME', 'generate_li_paw', 'rewrap_long_lines')
