"""Full-text search over objectives, key results, check-in comments, KPIs, teams and people."""
