"""What the experts of the question-answering tools receive under render="orchestrator-8b":
the released expert prompts (`expert_chat`) over the released expert context
(`expert_context`: whole documents for GPT-5 and Llama, their first 1,000 characters for the
others, then the code runs, cut per model), and how their replies are read (`query_of`,
`code_of`). The query writer's and the code writer's instructions follow the context in one user
message; the answerers get the context and the problem — Qwen models (`BOXED_PREFIXES`, as the
released evaluation does) under the system message asking for `\\boxed{}`, every other model
with the released request for `<answer>…</answer>` (Llama its own wording). The renderer
(`orchestra_env.render_o8b`) shares the code blocks, document text and front cut defined here.
"""

from __future__ import annotations

from orchestra_env import tokens
from orchestra_env.episode import Episode

NO_OUTPUT = "(no output)"  # what the sandbox reports for a run that printed nothing


def code_blocks(episode: Episode) -> str:
    """Every code run that printed something, as fenced python and output blocks (uncut)."""
    return "".join(
        f"```python\n{r.code}\n```\n\n```output\n{r.output}\n```\n\n"
        for r in episode.evidence.code_runs
        if r.output and r.output != NO_OUTPUT  # a run that printed nothing is not kept
    )


def document_text(episode: Episode, doc_id: int) -> str:
    title, text = episode.resources.document(doc_id)
    return f"{title}\n{text}"


def keep_end(text: str, limit: int) -> str:
    """The longest end of `text` of at most `limit` Qwen tokens (the released prompt cuts its
    context from the front)."""
    if tokens.count(text) <= limit:
        return text
    if limit <= 0:
        return ""
    low, high = 0, len(text)  # the cut: text[high:] fits; text[low:] does not
    while high - low > 1:
        mid = (low + high) // 2
        if tokens.count(text[mid:]) <= limit:
            high = mid
        else:
            low = mid
    return text[high:]


# What the experts receive. Their context is not the policy's: see `expert_context`.
QUERY_QUESTION = (
    "Question: {problem}\nInstead of directly answering the question, please write a query to "
    "search for a piece of relevant and missing information. The query should be a few key "
    "words about the information to search or a short sentence. Wrap the query within <query> "
    "and </query>."
)
CODE_QUESTION = (
    "Question: {problem}\nInstead of directly answering the question, please write additional "
    "python code that will give intermidiate results after execution. Wrap the code within "
    "```python and ```. The code should be self-contained with all the import and "
    "initialization."
)
BOXED_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
ANSWER_TAGS = (
    "\n\nTake a deep breath and think hard with high reasoning, wrap the thoughts within <think> "
    "and </think>, and wrap only the exact answer without any explanation within <answer> and "
    "</answer>.Output using the following format:\n<think>\n...\n</think>\n<answer>\n...\n"
    "</answer>"
)
LLAMA_ANSWER_TAGS = (
    "\nWrap the thinking process and explanation between <think> and </think> and wrap only the "
    "exact answer without any explanation within <answer> and </answer>."
)
BOXED_PREFIXES = ("qwen2.5-math", "qwen3")  # profile names of the answerers asked for \boxed{}
WHOLE_DOC_PREFIXES = ("gpt-5", "llama")  # the others read each document's first 1,000 chars
EXPERT_DOC_CHARS = 1000
QUERY_CHARS = 390
MIN_QUERY_CHARS = 5
# (code tokens, context tokens) an expert reads, by profile-name prefix; first match wins
EXPERT_LIMITS = (
    ("gpt-5", 40_000, 120_000),
    ("llama", 10_000, 80_000),
    ("qwen2.5-math", 1_000, 2_000),
    ("qwen2.5-coder", 16_000, 24_000),
    ("", 12_000, 24_000),  # Qwen3 and every model the release did not use
)


def expert_chat(role: str, model: str, episode: Episode) -> tuple[dict, ...]:
    """The chat the released loop sends the expert `model` in `role` (search, reason, answer)."""
    problem = episode.task.prompt
    context = expert_context(model, episode).strip()
    if role in ("search", "reason"):
        question = QUERY_QUESTION if role == "search" else CODE_QUESTION
        return ({"role": "user", "content": f"{context}\n\n{question.format(problem=problem)}"},)
    prompt = f"{context}\n\nProblem:\n{problem}"
    if model.startswith(BOXED_PREFIXES):
        return {"role": "system", "content": BOXED_SYSTEM}, {"role": "user", "content": prompt}
    tags = LLAMA_ANSWER_TAGS if model.startswith("llama") else ANSWER_TAGS
    return ({"role": "user", "content": prompt + tags},)


def expert_context(model: str, episode: Episode) -> str:
    """The documents and code an expert reads: whole or shortened documents, then the code runs
    that printed something, cut from the front to the model's limits."""
    code_limit, context_limit = next(
        (code, ctx) for prefix, code, ctx in EXPERT_LIMITS if model.startswith(prefix)
    )
    chars = None if model.startswith(WHOLE_DOC_PREFIXES) else EXPERT_DOC_CHARS
    documents = episode.evidence.documents
    doc_str = "".join(
        f"Doc {i}: {document_text(episode, d)[:chars]}\n\n" for i, d in enumerate(documents, 1)
    )
    code_str = keep_end(code_blocks(episode), code_limit)
    if code_str and not code_str.startswith("```"):  # cut inside a block: reopen it
        code_str = f"```\n{code_str}"
    problem_tokens = tokens.count(episode.task.prompt)
    context = keep_end(doc_str + code_str, context_limit - problem_tokens)
    return f"Documents:\n{context}" if documents else context


def query_of(text: str) -> str | None:
    """A query writer's query: the text in its last <query> tags (else the whole reply), cut to
    390 characters; None (no search) under 5 characters."""
    query = text.split("<query>")[-1].split("</query>")[0].strip()
    return query[:QUERY_CHARS] if len(query) >= MIN_QUERY_CHARS else None


def code_of(text: str) -> str:
    """A code writer's program: its last ```python block (else the reply up to a fence)."""
    return text.split("```python")[-1].split("```")[0].strip()
