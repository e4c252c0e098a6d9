"""Train an orchestrator with TRL's GRPO on an orchestra-env id (the paper's recipe, scaled down).

    pip install -e ".[train]"       # in a checkout of this repository
    python examples/grpo_train.py --model Qwen/Qwen3-0.6B --env-id ToolOrchestra-Multihop-v0 \
        --steps 200 --output-dir runs/grpo-multihop

That takes a GPU to finish in reasonable time, and the network the first time (to download the
model). README.md ("Train") gives the offline CPU run, on a tiny random-weight Qwen3, that
tests/test_trl.py trains.

Each training prompt is one task with one preference (the env's opening messages); TRL rolls it
out `--num-generations` times, each rollout calling the env's tools (search, enhance_reasoning,
answer, or a domain's functions) until it answers, and GRPO learns from the env's graded,
preference-weighted reward. Defaults follow the ToolOrchestra paper's training recipe:
temperature 1.0, KL 1e-4, clip 0.2 / 0.28, lr 1e-6, 8 rollouts per task. With `--use-vllm`
generation runs in vLLM colocated on the training GPU.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        default="Qwen/Qwen3-0.6B",
        help="hub id or local path of a Qwen3-style chat model",
    )
    p.add_argument(
        "--env-id", default="ToolOrchestra-Multihop-v0", help="any registered orchestra env id"
    )
    p.add_argument("--steps", type=int, default=200, help="optimizer steps")
    p.add_argument("--output-dir", default="runs/grpo", help="checkpoints and logs")
    p.add_argument(
        "--tasks", type=int, default=512, help="training tasks (prompts) drawn from the train split"
    )
    p.add_argument(
        "--num-generations", type=int, default=8, help="rollouts per task (the GRPO group)"
    )
    p.add_argument("--batch-size", type=int, default=8, help="rollouts per device per step")
    p.add_argument(
        "--max-completion-length",
        type=int,
        default=2048,
        help="tokens per rollout, tool replies included",
    )
    p.add_argument("--max-tool-calls", type=int, default=10, help="tool-calling turns per rollout")
    p.add_argument("--max-turns", type=int, default=10, help="the env's turn budget")
    p.add_argument(
        "--preference", default="sample", help="'sample' or a preset (accuracy, cheap, fast, ...)"
    )
    p.add_argument("--learning-rate", type=float, default=1e-6)
    p.add_argument("--beta", type=float, default=1e-4, help="KL coefficient")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--use-vllm", action="store_true", help="generate with vLLM (colocated)")
    p.add_argument(
        "--no-thinking",
        action="store_true",
        help="Qwen3: enable_thinking=False in the chat template",
    )
    p.add_argument("--report-to", default="none", help="'none', 'wandb', 'tensorboard', ...")
    p.add_argument("--cpu", action="store_true", help="train on the CPU (tests, tiny models)")
    return p.parse_args(argv)


def build_trainer(args: argparse.Namespace):
    """The `GRPOTrainer` for `args` (not yet trained)."""
    os.environ.setdefault(
        "TRL_EXPERIMENTAL_SILENCE", "1"
    )  # environment_factory is experimental in TRL
    import torch
    from trl import GRPOConfig, GRPOTrainer

    from orchestra_env.integrations.trl import environment_factories, task_dataset

    env_kwargs = {"max_turns": args.max_turns, "preference": args.preference}
    bf16 = not args.cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    config = GRPOConfig(
        output_dir=args.output_dir,
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        max_tool_calling_iterations=args.max_tool_calls,
        learning_rate=args.learning_rate,
        beta=args.beta,
        epsilon=0.2,
        epsilon_high=0.28,
        temperature=args.temperature,
        chat_template_kwargs={"enable_thinking": False} if args.no_thinking else None,
        use_vllm=args.use_vllm,
        vllm_mode="colocate",
        bf16=bf16,
        use_cpu=args.cpu,
        seed=args.seed,
        logging_steps=1,
        save_strategy="no" if args.steps < 50 else "steps",
        save_steps=max(50, args.steps // 4),
        report_to=args.report_to,
    )
    return GRPOTrainer(
        model=args.model,
        args=config,
        train_dataset=task_dataset(
            args.env_id, args.tasks, split="train", seed=args.seed, **env_kwargs
        ),
        environment_factory=environment_factories(args.env_id, seed=args.seed, **env_kwargs),
    )


def main(argv: Sequence[str] | None = None):
    """Train, save the final model to `--output-dir`, and return the trainer."""
    args = parse_args(argv)
    trainer = build_trainer(args)
    trainer.train()
    trainer.save_model(args.output_dir)
    return trainer


if __name__ == "__main__":
    main()
