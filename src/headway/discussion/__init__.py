"""Discussion: comments on objectives, key results, KPIs and check-ins, with @mentions."""
