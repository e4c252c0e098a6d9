"""Train an orchestrator with TRL's GRPO on an orchestra-env id (the ToolOrchestra paper's recipe).

On one 80 GB GPU (pip install -e ".[train,vllm]" in a checkout of this repository; the first run
downloads the model from the Hugging Face Hub):

    python examples/grpo_train.py --model Qwen/Qwen3-1.7B --env-id ToolOrchestra-Multihop-v0 \
        --steps 200 --output-dir runs/grpo-multihop --use-vllm

README.md ("Train") gives the offline CPU run, on a tiny random-weight Qwen3, that
tests/test_trl.py trains.

Each training prompt is one task with one preference (the env's opening messages); TRL rolls it
out `--num-generations` times, each rollout calling the env's tools (search, enhance_reasoning,
answer, or a domain's functions) until it answers. The reward (`--reward group`) is the paper's:
each rollout's preference vector times its tool counts, outcome, cost and latency min-max
normalised over its group, 0 if the answer is wrong; `--reward episode` trains on the env's own
per-episode reward instead. `PaperGRPOTrainer` applies the paper's advantage (z-score in the
group clipped to [-3, 3], groups whose reward std is below 0.1 dropped) and drops turns that are
not tool calls; every other turn is trained with its rollout's advantage (the paper's per-turn
samples, under TRL's token-level loss).

Defaults are the paper's hyper-parameters: 8 rollouts per task, 16 tasks per optimizer step,
lr 1e-6, temperature 1.0, KL 1e-4, clip 0.2 / 0.28, 30 turns. The paper trains Qwen3-8B on
several GPUs; on one 80 GB GPU full fine-tuning of 8B does not fit (AdamW's states alone take
64 GB), so the default model is Qwen3-1.7B, sized by arithmetic, not measured: fp32 weights,
gradients and AdamW states (27 GB) and the KL reference (7 GB), vLLM colocated at 30% of the
GPU, 2 rollouts of up to 8,192 tokens per forward pass. Weights stay in fp32 (bf16 compute)
because lr 1e-6 updates are below bf16's resolution.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        default="Qwen/Qwen3-1.7B",
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
    p.add_argument("--prompts-per-step", type=int, default=16, help="tasks per optimizer step")
    p.add_argument("--batch-size", type=int, default=2, help="rollouts per forward pass")
    p.add_argument(
        "--reward",
        choices=("group", "episode"),
        default="group",
        help="group: the paper's group-normalised preference reward; episode: the env's own",
    )
    p.add_argument(
        "--max-completion-length",
        type=int,
        default=8192,
        help="tokens per rollout, tool replies included",
    )
    p.add_argument("--max-tool-calls", type=int, default=30, help="tool-calling turns per rollout")
    p.add_argument("--max-turns", type=int, default=30, help="the env's turn budget")
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
    args = p.parse_args(argv)
    rollouts = args.prompts_per_step * args.num_generations
    if rollouts % args.batch_size:
        p.error(
            f"--batch-size {args.batch_size} must divide --prompts-per-step x --num-generations "
            f"({rollouts} rollouts per step)"
        )
    return args


def build_trainer(args: argparse.Namespace):
    """The `PaperGRPOTrainer` for `args` (not yet trained)."""
    os.environ.setdefault(
        "TRL_EXPERIMENTAL_SILENCE", "1"
    )  # environment_factory is experimental in TRL
    import torch
    from trl import GRPOConfig

    from orchestra_env.integrations.trl import (
        GroupPreferenceReward,
        PaperGRPOTrainer,
        environment_factories,
        task_dataset,
    )

    env_kwargs = {"max_turns": args.max_turns, "preference": args.preference}
    bf16 = not args.cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    config = GRPOConfig(
        output_dir=args.output_dir,
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        # one optimizer step = one generation batch of prompts-per-step groups
        gradient_accumulation_steps=args.prompts_per_step * args.num_generations // args.batch_size,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        max_tool_calling_iterations=args.max_tool_calls,
        learning_rate=args.learning_rate,
        beta=args.beta,
        epsilon=0.2,
        epsilon_high=0.28,
        loss_type="dapo",  # token-level: one rollout's turns weigh as the paper's per-turn samples
        temperature=args.temperature,
        chat_template_kwargs={"enable_thinking": False} if args.no_thinking else None,
        model_init_kwargs={"dtype": "float32"},  # lr 1e-6 vanishes in bf16 weights
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
    return PaperGRPOTrainer(
        model=args.model,
        reward_funcs=[GroupPreferenceReward(args.num_generations)]
        if args.reward == "group"
        else None,  # None: the environments' get_reward
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
