"""Agents that orchestrate: `LLMOrchestrator` over any backend (`llm`), NVIDIA's
Orchestrator-8B (`orchestrator8b`), the prompt-only LLM baselines of the paper (`prompted`),
every LLM agent by name (`names`) and the small routing policy trained here (`mini`)."""
