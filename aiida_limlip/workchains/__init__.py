"""Work chains of aiida-limlip: thin orchestration of CalcJobs and calcfunctions."""
