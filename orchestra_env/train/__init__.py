"""Training orchestrators on the environment: the mini policy (PPO) and its command."""
