"""robnas.searchers (placeholder until its issue lands)."""
