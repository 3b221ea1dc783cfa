"""CalcJobs of aiida-limlip."""
