"""Training set-up of the machine-learning potentials (no AiiDA): config builders and log readers."""
