"""Structure generation (no AiiDA): seed structures for DFT labelling and active learning, adatoms on surfaces."""
