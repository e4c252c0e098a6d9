"""Adapters to training and scaling frameworks: TRL's GRPO trainer (`trl`) and Ray actors for
evaluation and rollouts (`ray`). Each imports its framework only when used."""
