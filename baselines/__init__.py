"""Rule-based baselines: routers that pick tools by rule (`routers`), and single models given
every tool (`single_model`), for comparison with learned orchestrators."""
