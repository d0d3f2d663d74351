"""robnas.evaluation (placeholder until its issue lands)."""
