"""The function-calling family through the env: tau2 grading, the simulated user, call_expert."""

import json

from orchestra_env import OrchestraEnv
from orchestra_env.core import Evidence
from orchestra_env.domain import DomainTask
from orchestra_env.domain.user import Scenario, UserSimulator, first_person
from orchestra_env.observation import tool_call
from orchestra_env.tasks.function_calling import next_step


def golden_actions(task, *, communicate=True, corrupt=False):
    """The golden calls (optionally with the first write's argument corrupted), then a message
    that says the request was handled (a user waiting for a change hears it was made)."""
    actions = []
    for i, a in enumerate(task.case.actions):
        args = dict(a["arguments"])
        if corrupt and i == len(task.case.actions) - 1:
            key = sorted(args)[0]
            args[key] = f"{args[key]}9" if isinstance(args[key], str) else args[key] + 1
        actions.append(tool_call(a["name"], args))
    info = "; ".join(task.case.communicate_info) if communicate else ""
    actions.append(f"<message>I have handled your request. {info}</message>")
    return actions


def run(env, actions, task_id):
    """Play `actions`; if the user is still there afterwards, say goodbye (the user hangs up)."""
    env.reset(seed=0, options={"task_id": task_id})
    for action in [*actions, "<message>Goodbye.</message>"]:
        _, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info, action != "<message>Goodbye.</message>"
    raise AssertionError("the user did not hang up after goodbye")


def writing_tasks(env, n=40):
    tasks = [env.suite.task(f"function_calling/{i}") for i in range(n)]
    return [
        t
        for t in tasks
        if any(
            env.suite.family("function_calling")._domain(t).tools[a["name"]].kind == "write"
            for a in t.case.actions
        )
    ]


def test_golden_replay_scores_one_and_the_user_hangs_up():
    env = OrchestraEnv("function_calling", max_turns=40)
    for i in range(12):
        task = env.suite.task(f"function_calling/{i}")
        info, terminated = run(env, golden_actions(task), task.id)
        assert info["outcome"] == 1, (task.id, info["grading"])
        assert terminated  # the user ended the call once it was told the outcome


def test_wrong_write_scores_zero_and_silence_scores_zero():
    env = OrchestraEnv("function_calling", max_turns=40)
    tasks = writing_tasks(env)
    assert tasks
    for task in tasks[:6]:
        info, _ = run(env, golden_actions(task, corrupt=True), task.id)
        assert info["outcome"] == 0
    with_info = [t for t in tasks if t.case.communicate_info] or [
        t for i in range(40) if (t := env.suite.task(f"function_calling/{i}")).case.communicate_info
    ]
    for task in with_info[:6]:
        info, _ = run(env, golden_actions(task, communicate=False), task.id)
        assert info["outcome"] == 0
        assert info["grading"]["db_match"] == 1.0 and info["grading"]["communicate"] == 0.0


def test_user_simulator_reveals_confirms_and_refuses():
    case = DomainTask(
        id="x",
        domain="bank",
        template="t",
        index=0,
        seed=0,
        description={},
        user_scenario={"instructions": {"reason_for_call": "You want your card blocked."}},
        evaluation_criteria={"actions": [], "communicate_info": []},
        known={"customer id": "CUS-00001", "email": "a@b.c"},
        slots={},
        expected_tables={},
    )
    user = UserSimulator(Scenario.of(case, writes=True))
    assert user.reply("What is your customer number?") == ("My customer id is CUS-00001.", False)
    assert user.reply("Could you give me your e-mail and customer ID?")[0] == (
        "My email is a@b.c. My customer id is CUS-00001."
    )
    answer, over = user.reply("Shall I proceed with blocking it?")
    assert answer.startswith("Yes") and not over
    assert user.reply("What is your mother's maiden name?") == (
        "I'm sorry, I don't have my mother's maiden name.",
        False,
    )
    assert user.reply("Your card is blocked now.")[1] is True
    assert (
        first_person("You lost your card and you want it blocked.")
        == "I lost my card and I want it blocked."
    )


def test_expert_asks_before_acting_on_facts_it_lacks():
    env = OrchestraEnv("function_calling")
    task = next(
        t
        for i in range(60)
        if (t := env.suite.task(f"function_calling/{i}")).case.known
        and any(
            str(v) in json.dumps(a["arguments"])
            for a in t.case.actions
            for v in t.case.known.values()
        )
        and not any(
            str(v).lower() in t.case.user_scenario["instructions"]["reason_for_call"].lower()
            for v in t.case.known.values()
        )
    )
    step = next_step(task.case, Evidence())
    assert step.text.startswith("<message>Could you tell me your") and step.key.startswith("ask:")


def test_stronger_experts_solve_more_and_cost_more():
    """Under a tight turn budget a strong expert's fewer mistakes show; it also costs far more."""

    def play_expert(expert):
        env = OrchestraEnv("function_calling.bank", max_turns=6, policy_model=None)
        call = tool_call("call_expert", {"expert": expert})
        wins = cost = 0.0
        for seed in range(60):
            env.reset(seed=seed)
            done = False
            while not done:
                _, _, terminated, truncated, info = env.step(call)
                done = terminated or truncated
            wins += info["outcome"]
            cost += info["ledger"]["cost_usd"]
            assert info["ledger"]["calls_by_alias"][expert] >= 1
        return wins / 60, cost / 60

    strong, weak = play_expert("expert-1"), play_expert("expert-3")
    assert strong[0] > weak[0]
    assert strong[1] > 10 * weak[1]


def test_info_names_the_domain_and_template_of_conversations_only():
    env = OrchestraEnv("function_calling", max_turns=40)
    task = env.suite.task("function_calling/3")
    _, info = env.reset(seed=0, options={"task_id": task.id})
    assert (info["domain"], info["template"]) == (task.case.domain, task.case.template)
    *_, info = env.step("<message>Hello, how can I help?</message>")
    assert (info["domain"], info["template"]) == (task.case.domain, task.case.template)
    _, info = OrchestraEnv("multihop").reset(seed=0)
    assert "domain" not in info and "template" not in info
