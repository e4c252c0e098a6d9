import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.baselines.routers import FixedPlan


@pytest.fixture
def evidence_router():
    """Search three times with a mid model, then answer with a strong one."""
    return FixedPlan(
        [("search", {"model": "search-2"})] * 3 + [("answer", {"model": "answer-1"})],
        name="evidence",
    )


def play(env, agent, *, seed=None, options=None):
    """Run one episode; returns (actions, final info, total reward)."""
    obs, info = env.reset(seed=seed, options=options)
    agent.reset(obs, info)
    actions, total = [], 0.0
    while True:
        action = agent.act(obs)
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            return actions, info, total


def build_tiny_qwen3(path) -> str:
    """Save a 2-layer Qwen3 (hidden 64, random weights) and a byte-level BPE tokenizer trained on
    env observations, with the Qwen special tokens and Qwen3's released chat template, to `path`."""
    import torch
    import transformers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    from tests.test_llm_agents import QWEN3_CHAT_TEMPLATE, QWEN_ADDED, QWEN_SPECIAL, _corpus

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=QWEN_SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(_corpus() * 2, trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in QWEN_ADDED])
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=QWEN3_CHAT_TEMPLATE
    )
    config = transformers.Qwen3Config(
        vocab_size=bpe.get_vocab_size(), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=32768,
        tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = transformers.Qwen3ForCausalLM(config)
    model.generation_config = transformers.GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory):
    """The directory of the tiny offline Qwen3 (`build_tiny_qwen3`), built once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3-shared"))
