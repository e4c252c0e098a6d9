"""Live backends and live experts, offline: a real HTTP server on 127.0.0.1 serves recorded
chat-completion replies (successes, timeouts, 5xx, 429, malformed JSON); the env runs live
episodes against it and its ledger shows the server's token counts."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

import orchestra_env  # noqa: F401  (registers the env ids)
from orchestra_env.baselines.routers import FixedPlan
from orchestra_env.models.backends import (
    BackendConfigError,
    BackendError,
    BackendUnreachable,
    Generation,
    MissingDependency,
    OpenAICompatBackend,
    backend_from_config,
    backends_from_mapping,
    hermes_text,
    load_backend_configs,
    to_openai_messages,
)
from orchestra_env.models.live import LiveExperts, error_text, expert_messages
from orchestra_env.models.profiles import load_profiles
from tests.conftest import play

# -- a scripted OpenAI-compatible server ---------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict -> JSON; str/bytes sent as they are
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


def completion(
    text: str = "ok", prompt_tokens: int = 11, completion_tokens: int = 3, **message
) -> dict:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class Script:
    """Replies served in order (then `default`, a Reply or a function of the request body)."""

    def __init__(self):
        self.queue: deque[Reply] = deque()
        self.default: Reply | Callable[[dict], Reply] = Reply(body=completion())
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def reply_to(self, body: dict) -> Reply:
        with self.lock:
            if self.queue:
                return self.queue.popleft()
        return self.default(body) if callable(self.default) else self.default


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the http.server API)
        script: Script = self.server.script
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with script.lock:
            script.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            script.in_flight += 1
            script.max_in_flight = max(script.max_in_flight, script.in_flight)
        try:
            reply = script.reply_to(body)
            time.sleep(reply.delay)
        finally:
            # Out of flight before replying: once the reply is sent, the client may already
            # have sent its next request while this thread is still finishing.
            with script.lock:
                script.in_flight -= 1
        try:
            data = (
                reply.body
                if isinstance(reply.body, bytes)
                else (
                    reply.body.encode()
                    if isinstance(reply.body, str)
                    else json.dumps(reply.body).encode()
                )
            )
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client timed out and went away

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def server():
    srv = QuietServer(("127.0.0.1", 0), Handler)
    srv.script = Script()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
    yield srv
    srv.shutdown()
    srv.server_close()


def backend(server, **kwargs) -> OpenAICompatBackend:
    options = {"timeout_s": 2.0, "max_retries": 2, "backoff": 0.01, **kwargs}
    return OpenAICompatBackend(server.url, "test-model", **options)


CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]

# -- OpenAICompatBackend ------------------------------------------------------------------------


def test_success_reports_the_servers_usage(server):
    server.script.queue.append(Reply(body=completion("hello", 123, 4)))
    g = backend(server, temperature=0.5).generate(CHAT, max_tokens=9)
    assert isinstance(g, Generation)
    assert (g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) == (
        "hello",
        123,
        4,
        "stop",
    )
    assert not g.usage_estimated and g.seconds > 0
    request = server.script.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "test-model"
    assert request["body"]["temperature"] == 0.5 and request["body"]["max_tokens"] == 9
    assert request["body"]["messages"] == CHAT


def test_structured_tool_calls_and_reasoning_come_back_as_hermes_text(server):
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "search", "arguments": '{"model": "search-2"}'},
    }
    server.script.queue.append(
        Reply(body=completion(None, tool_calls=[call], reasoning_content="look it up"))
    )
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    g = backend(server).generate(CHAT, tools=tools)
    assert g.text == (
        "<think>\nlook it up\n</think>\n\n"
        '<tool_call>\n{"name": "search", "arguments": {"model": "search-2"}}\n</tool_call>'
    )
    assert server.script.requests[0]["body"]["tools"] == tools
    parsed = orchestra_env.parse_action(g.text, {"search": _spec("search")})
    assert parsed == orchestra_env.ToolCall("search", {"model": "search-2"})


def _spec(name):
    from orchestra_env.tools.spec import ToolSpec

    return ToolSpec(name, "", {"type": "object", "properties": {"model": {"type": "string"}}})


def test_timeout_after_retries_is_a_clear_error(server):
    server.script.default = Reply(body=completion(), delay=1.0)
    start = time.perf_counter()
    with pytest.raises(BackendError) as err:
        backend(server, timeout_s=0.15, max_retries=1).generate(CHAT)
    message = str(err.value)
    assert "timed out" in message and "gave up after 2 attempts" in message
    assert server.url in message and "test-model" in message
    assert len(server.script.requests) == 2
    assert time.perf_counter() - start < 2.0


def test_5xx_is_retried_then_succeeds(server):
    server.script.queue.extend(
        [
            Reply(500, {"error": {"message": "overloaded"}}),
            Reply(503, "busy"),
            Reply(body=completion("fine")),
        ]
    )
    g = backend(server).generate(CHAT)
    assert g.text == "fine" and len(server.script.requests) == 3


def test_429_honours_retry_after_then_succeeds(server):
    server.script.queue.extend(
        [
            Reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}),
            Reply(body=completion("ok")),
        ]
    )
    g = backend(server, backoff=5.0).generate(CHAT)  # Retry-After: 0 beats the 5 s backoff
    assert g.text == "ok" and len(server.script.requests) == 2


def test_persistent_5xx_gives_up_naming_the_status(server):
    server.script.default = Reply(502, {"error": {"message": "bad gateway"}})
    with pytest.raises(BackendError) as err:
        backend(server, max_retries=1).generate(CHAT)
    assert (
        err.value.status == 502
        and "bad gateway" in str(err.value)
        and len(server.script.requests) == 2
    )


def test_4xx_is_not_retried_and_shows_the_servers_message(server):
    server.script.queue.append(Reply(400, {"error": {"message": "model 'x' does not exist"}}))
    with pytest.raises(BackendError) as err:
        backend(server).generate(CHAT)
    assert (
        err.value.status == 400
        and "does not exist" in str(err.value)
        and server.url in str(err.value)
    )
    assert len(server.script.requests) == 1


@pytest.mark.parametrize(
    "body, expected",
    [
        ("{not json", "malformed JSON"),
        ({"choices": []}, "no choices"),
        ({"object": "chat.completion"}, "no choices"),
        ({"choices": [{"index": 0}]}, "no message"),
        ({"choices": [{"message": {"content": 5}}]}, "not text"),
        ({"error": {"message": "context too long"}}, "context too long"),
    ],
)
def test_malformed_replies_are_clear_errors(server, body, expected):
    server.script.queue.append(Reply(body=body))
    with pytest.raises(BackendError, match=expected):
        backend(server).generate(CHAT)


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unanswered_port():
    """A loopback port whose listener never accepts and whose backlog is full: a connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port, held = listener.getsockname()[1], []
    try:
        for _ in range(8):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
            except TimeoutError:
                break
        else:
            pytest.skip("this kernel queues every connection: no connect can be made to hang")
        yield port
    finally:
        for sock in (*held, listener):
            sock.close()


def test_a_dead_server_fails_fast_with_the_default_budget():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    start = time.perf_counter()
    with pytest.raises(BackendUnreachable) as err:
        OpenAICompatBackend(url, "m").generate(CHAT)  # the defaults a policy server gets
    elapsed = time.perf_counter() - start
    assert elapsed < 15
    message = str(err.value)
    assert message.startswith(f"could not reach {url} after 3 tries over ")
    assert "connection refused" in message and "model='m'" in message


def test_a_connect_that_hangs_is_cut_by_the_connect_timeout(unanswered_port):
    b = OpenAICompatBackend(
        f"http://127.0.0.1:{unanswered_port}/v1",
        "m",
        timeout_s=60,
        connect_timeout_s=0.2,
        connect_tries=2,
        backoff=0.01,
    )
    start = time.perf_counter()
    with pytest.raises(BackendUnreachable, match=r"after 2 tries .*within the 0\.2 s connect"):
        b.generate(CHAT)
    assert time.perf_counter() - start < 5  # not 2 × the 60 s read timeout


def test_a_slow_reply_is_not_cut_by_the_connect_timeout(server):
    server.script.queue.append(Reply(body=completion("late"), delay=0.5))
    g = backend(server, connect_timeout_s=0.1, timeout_s=5).generate(CHAT)
    assert g.text == "late" and len(server.script.requests) == 1


def test_an_overloaded_server_is_not_called_unreachable(server):
    server.script.default = Reply(503, "busy")
    b = backend(server, max_retries=2)
    with pytest.raises(BackendError) as err:
        b.generate(CHAT)
    assert not isinstance(err.value, BackendUnreachable) and "HTTP 503" in str(err.value)


def test_missing_usage_is_estimated_with_the_qwen_vocabulary(server):
    body = completion("four words right here")
    del body["usage"]
    server.script.queue.append(Reply(body=body))
    g = backend(server).generate(CHAT)
    assert g.usage_estimated and g.prompt_tokens > 0 and g.completion_tokens == 4


def test_concurrency_is_limited(server):
    server.script.default = Reply(body=completion(), delay=0.3)
    b = backend(server, max_concurrency=2, timeout_s=30)
    results = []
    threads = [threading.Thread(target=lambda: results.append(b.generate(CHAT))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Without the limit all six would be in flight at once; on a busy machine fewer may overlap.
    assert len(results) == 6 and 1 <= server.script.max_in_flight <= 2


def test_backend_pickles_for_worker_processes(server):
    import pickle

    clone = pickle.loads(pickle.dumps(backend(server, max_concurrency=3)))
    assert clone.generate(CHAT).text == "ok" and clone.max_concurrency == 3


def test_api_key_comes_from_the_named_env_var(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    backend(server, api_key_env="MY_KEY").generate(CHAT)
    monkeypatch.delenv("MY_KEY")
    backend(server, api_key_env="MY_KEY").generate(CHAT)
    first, second = (r["headers"] for r in server.script.requests)
    assert first["Authorization"] == "Bearer sk-test" and "Authorization" not in second


def test_env_chat_becomes_strict_openai_wire_format():
    chat = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "<think>hm</think>"
            '<tool_call>{"name": "search", "arguments": {"model": "search-3"}}</tool_call>',
        },
        {"role": "tool", "content": "docs"},
        {"role": "assistant", "content": "garbage"},
        {"role": "tool", "content": "Error: no tool call found"},
    ]
    wire = to_openai_messages(chat)
    assert wire[2]["role"] == "assistant" and wire[2]["content"] == "<think>hm</think>"
    assert wire[2]["tool_calls"][0]["function"] == {
        "name": "search",
        "arguments": '{"model": "search-3"}',
    }
    assert wire[3] == {
        "role": "tool",
        "tool_call_id": wire[2]["tool_calls"][0]["id"],
        "content": "docs",
    }
    assert wire[4] == {"role": "assistant", "content": "garbage"}
    assert wire[5] == {"role": "user", "content": "[tool]\nError: no tool call found"}


def test_hermes_text_keeps_unparseable_arguments_for_the_env_to_report():
    text = hermes_text("", [{"function": {"name": "answer", "arguments": "{oops"}}])
    parsed = orchestra_env.parse_action(text, {"answer": _spec("answer")})
    assert isinstance(parsed, orchestra_env.ParseError) and "not JSON" in parsed.error


# -- configuration ------------------------------------------------------------------------------


def test_backend_from_config_builds_and_validates():
    b = backend_from_config(
        {
            "backend": "openai",
            "base_url": "http://h/v1",
            "model": "m",
            "sampling": {"temperature": 0},
        }
    )
    assert (
        isinstance(b, OpenAICompatBackend)
        and b.sampling == {"temperature": 0}
        and b.url == "http://h/v1/chat/completions"
    )
    with pytest.raises(
        BackendConfigError, match="'backend' must be one of openai, transformers, vllm"
    ):
        backend_from_config({"backend": "tgi"})
    with pytest.raises(BackendConfigError, match="base_url"):
        backend_from_config({"backend": "openai", "model": "m"})
    with pytest.raises(BackendConfigError, match="expected a mapping"):
        backend_from_config(["openai"])
    server = {"backend": "openai", "base_url": "http://h/v1", "model": "m"}
    with pytest.raises(BackendConfigError, match="connect_tries must be >= 1"):
        backend_from_config({**server, "connect_tries": 0})
    with pytest.raises(BackendConfigError, match="connect_timeout_s must be > 0"):
        backend_from_config({**server, "connect_timeout_s": 0})


def test_config_files_json_and_yaml(tmp_path):
    config = {"*": {"backend": "openai", "base_url": "http://h/v1", "model": "m"}}
    (tmp_path / "b.json").write_text(json.dumps(config))
    assert load_backend_configs(tmp_path / "b.json") == config
    yaml = pytest.importorskip("yaml")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(config))
    assert load_backend_configs(tmp_path / "b.yaml") == config
    (tmp_path / "bad.json").write_text('{"*": {"backend": }')
    with pytest.raises(BackendConfigError, match=r"bad.json: invalid JSON at line 1"):
        load_backend_configs(tmp_path / "bad.json")
    with pytest.raises(BackendConfigError, match="cannot read"):
        load_backend_configs(tmp_path / "missing.json")


def test_identical_configs_share_one_backend():
    cfg = {"backend": "openai", "base_url": "http://h/v1", "model": "m"}
    built = backends_from_mapping(
        {"search-1": cfg, "answer-1": dict(cfg), "answer-2": {**cfg, "model": "n"}}
    )
    assert built["search-1"] is built["answer-1"] and built["answer-2"] is not built["search-1"]


def test_missing_optional_dependency_names_the_extra():
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    with pytest.raises(MissingDependency, match=r"pip install -e \"\.\[vllm\]\"") as err:
        backend_from_config({"backend": "vllm", "model": "Qwen/Qwen3-8B"})
    assert isinstance(err.value, ImportError) and isinstance(err.value, BackendError)


# -- live experts ---------------------------------------------------------------------------------

PROFILES = load_profiles()


def expert_server_reply(body: dict) -> Reply:
    """A plausible expert: the reply each tool's system prompt asks for,
    usage from the model name."""
    system = body["messages"][0]["content"]
    n = int(body["model"].rsplit("-", 1)[-1]) if body["model"][-1].isdigit() else 1
    if "<query>" in system:
        text = "<query>population birthplace</query>"
    elif "```python" in system:
        text = "```python\nprint(6 * 7)\n```"
    elif "<answer>" in system:
        text = "<answer>42</answer>"
    else:
        text = "<message>Could you tell me your name, please?</message>"
    return Reply(body=completion(text, prompt_tokens=100 * n, completion_tokens=n))


def all_aliases(server, **extra) -> dict:
    """Every alias -> the server, each under its own served model name ("m-<i>")."""
    return {
        alias: {
            "backend": "openai",
            "base_url": server.url,
            "model": f"m-{i}",
            "backoff": 0.01,
            **extra,
        }
        for i, alias in enumerate(PROFILES.aliases, 1)
    }


def test_live_episode_ledger_shows_the_servers_tokens(server):
    server.script.default = expert_server_reply
    backends = all_aliases(server)
    env = gym.make(
        "ToolOrchestra-Multihop-v0", experts="live", expert_backends=backends, policy_model=None
    )
    assert env.spec.nondeterministic and env.unwrapped.spec.nondeterministic
    # (enhance_reasoning is left out: it needs the code sandbox, which is not what is tested here)
    plan = FixedPlan(
        [
            ("search", {"model": "search-2"}),
            ("search", {"model": "search-3"}),
            ("answer", {"model": "answer-1"}),
        ]
    )
    actions, info, _ = play(env, plan, seed=0)
    served = [r["body"]["model"] for r in server.script.requests]
    index = {alias: i for i, alias in enumerate(PROFILES.aliases, 1)}
    called = ("search-2", "search-3", "answer-1")
    assert served == [f"m-{index[a]}" for a in called]
    ledger = info["ledger"]
    assert ledger["prompt_tokens"] == sum(100 * index[a] for a in called)
    assert ledger["completion_tokens"] == sum(index[a] for a in called)
    assert ledger["calls_by_alias"] == {"search-2": 1, "search-3": 1, "answer-1": 1}
    assert info["grading"]["answer"] == "42" and "outcome" in info
    assert 0 < ledger["latency_s"] < 10  # real wall-clock, not the profiles' simulated seconds
    env.close()


def test_live_experts_from_a_file_with_a_default_backend(server, tmp_path):
    server.script.default = expert_server_reply
    path = tmp_path / "experts.json"
    path.write_text(
        json.dumps({"*": {"backend": "openai", "base_url": server.url, "model": "m-1"}})
    )
    env = gym.make(
        "ToolOrchestra-Multihop-v0", experts="live", expert_backends=str(path), policy_model=None
    )
    _, info, _ = play(env, FixedPlan([("answer", {"model": "answer-4"})]), seed=1)
    assert info["ledger"]["prompt_tokens"] == 100 and info["grading"]["answer"] == "42"


def test_expert_failures_are_shown_to_the_policy_and_the_episode_goes_on(server):
    server.script.default = Reply(500, {"error": {"message": "GPU fell over"}})
    env = gym.make(
        "ToolOrchestra-Multihop-v0",
        experts="live",
        expert_backends=all_aliases(server, max_retries=0),
        policy_model=None,
    )
    plan = FixedPlan([("search", {"model": "search-1"}), ("answer", {"model": "answer-2"})])
    obs, info = env.reset(seed=0)
    obs, _, terminated, truncated, info = env.step(plan.act(obs))
    assert (
        "EXPERT ERROR" in obs["messages"][-1]["content"]
        and "GPU fell over" in obs["messages"][-1]["content"]
    )
    assert info["ledger"]["prompt_tokens"] == 0 and not (terminated or truncated)
    obs, _, terminated, _, info = env.step(plan.act(obs))
    assert terminated and info["outcome"] == 0
    experts = env.unwrapped.experts
    assert experts.calls == 2
    assert [(e.alias, e.model) for e in experts.errors] == [
        (alias, PROFILES.aliases[alias].model) for alias in ("search-1", "answer-2")
    ]
    assert "HTTP 500: GPU fell over" in experts.errors[0].error
    assert server.url in experts.errors[0].error


def test_live_conversation_expert_gets_the_domain_tools_and_errors_are_not_said_to_the_user(server):
    server.script.default = expert_server_reply
    env = gym.make(
        "ToolOrchestra-FunctionCalling-v0",
        experts="live",
        expert_backends=all_aliases(server),
        policy_model=None,
    )
    obs, info = env.reset(seed=0)
    call = '<tool_call>{"name": "call_expert", "arguments": {"expert": "expert-3"}}</tool_call>'
    obs, *_ = env.step(call)
    request = server.script.requests[-1]["body"]
    domain_tools = {t["function"]["name"] for t in request["tools"]}
    offered = {t["function"]["name"] for t in json.loads(obs["tools"])}
    assert domain_tools == offered - {"call_expert"}
    assert obs["messages"][-1]["role"] == "user"  # the expert's <message> reached the user
    server.script.default = Reply(500, "down")
    env.unwrapped.experts.backends = {
        k: backend(server, max_retries=0) for k in env.unwrapped.experts.backends
    }
    n = len(obs["messages"])
    obs, *_ = env.step(call)
    assert [m["role"] for m in obs["messages"][n:]] == ["assistant", "tool"]
    assert (
        "EXPERT ERROR" in obs["messages"][-1]["content"]
        and "HTTP 500" in obs["messages"][-1]["content"]
    )


def test_live_mode_is_validated_up_front(server):
    cfg = {"backend": "openai", "base_url": server.url, "model": "m"}
    with pytest.raises(ValueError, match=r"no backend for aliases \['search-2'"):
        gym.make(
            "ToolOrchestra-Multihop-v0",
            experts="live",
            expert_backends={
                "search-1": cfg,
                "reasoner-1": cfg,
                "answer-1": cfg,
                "answer-2": cfg,
                "answer-3": cfg,
            },
        )
    with pytest.raises(ValueError, match="neither aliases"):
        gym.make("ToolOrchestra-Multihop-v0", experts="live", expert_backends={"serch-1": cfg})
    with pytest.raises(ValueError, match="needs expert_backends"):
        gym.make("ToolOrchestra-Multihop-v0", experts="live")
    with pytest.raises(ValueError, match="only used with experts='live'"):
        gym.make("ToolOrchestra-Multihop-v0", expert_backends={"*": cfg})
    # Keyed by model: every alias of gpt-5 / qwen3-32b / ... served; tools= narrows what is needed.
    env = gym.make(
        "ToolOrchestra-Multihop-v0",
        experts="live",
        expert_backends={"gpt-5": cfg},
        tools=["search-1", "reasoner-1", "answer-1"],
    )
    assert env.spec.nondeterministic
    assert not gym.make("ToolOrchestra-Multihop-v0").spec.nondeterministic


def test_expert_messages_follow_the_prompt_pieces():
    from orchestra_env.models.base import ExpertRequest

    qa = ExpertRequest("search", "gpt-5", ("SYS", "PROBLEM", "DOC1", "DOC2"), None, None, "1:1")
    messages = expert_messages(qa)
    assert messages[0] == {"role": "system", "content": "SYS"}
    assert messages[1]["content"] == "Problem:\nPROBLEM\n\nContext:\nDOC1\n\nDOC2"
    act = ExpertRequest(
        "act", "gpt-5", ("POLICY", "hello", "<message>hi</message>"), None, None, "1:2"
    )
    messages = expert_messages(act)
    assert (
        messages[0]["content"].startswith("POLICY")
        and "hello\n\n---\n\n<message>hi</message>" in messages[1]["content"]
    )
    assert "EXPERT ERROR" in error_text("answer", "x")


def test_live_experts_accept_backend_objects():
    class Echo:
        def generate(self, messages, *, tools=None, **sampling):
            return Generation("<answer>7</answer>", 5, 2, 0.0)

    experts = LiveExperts({"answer-1": Echo()}, PROFILES)
    env = gym.make(
        "ToolOrchestra-Multihop-v0",
        experts=experts,
        tools=["search-1", "reasoner-1", "answer-1"],
        policy_model=None,
    )
    assert env.spec.nondeterministic  # the experts declare it, however they were given
    _, info, _ = play(env, FixedPlan([("answer", {"model": "answer-1"})]), seed=0)
    assert info["grading"]["answer"] == "7" and info["ledger"]["prompt_tokens"] == 5
