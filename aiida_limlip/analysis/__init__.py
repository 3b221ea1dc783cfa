"""Pure functions (no AiiDA imports): fits, structure analysis, units, tables and plots."""
