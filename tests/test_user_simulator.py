"""The simulated user of conversations: dialogues that went wrong with the keyword-matching user
(identity requests, "anything else?", "Have a good day!", "Which date do you want?",
confirmations, refusals, changes of mind, insisting, withheld fields), its opening, its
independence from the grader, determinism, the scenario fields in domain files, and the LLM
user through a fake backend."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from orchestra_env import OrchestraEnv
from orchestra_env.domain import SCHEMAS, DomainTask, load_domain, validate_domain
from orchestra_env.domain.user import (
    STOP,
    LLMUser,
    Scenario,
    UserSimulator,
    opening,
)
from orchestra_env.models.backends import Generation
from orchestra_env.observation import tool_call

EXAMPLE = json.loads((SCHEMAS / "domain.example.json").read_text())
BORROW = 1  # the example's template that writes and communicates the due date


def scenario(
    known=None,
    *,
    reason="You want your card ending in 1234 blocked.",
    persona="Ann Lee, in a hurry.",
    communicate=(),
    writes=True,
    unknown_info=None,
    **behaviour,
) -> Scenario:
    case = DomainTask(
        id="bank/0/test/0",
        domain="bank",
        template="t",
        index=0,
        seed=0,
        description={},
        user_scenario={
            "persona": persona,
            "instructions": {"reason_for_call": reason, "unknown_info": unknown_info},
        },
        evaluation_criteria={"actions": [], "communicate_info": list(communicate)},
        known=known if known is not None else {"customer id": "CUS-00001", "email": "a@b.c"},
        slots={},
        expected_tables={},
        **behaviour,
    )
    return Scenario.of(case, writes)


def say(user: UserSimulator, message: str) -> str:
    answer, over = user.reply(message)
    assert not over, (message, answer)
    return answer


def ends(user: UserSimulator, message: str) -> str:
    answer, over = user.reply(message)
    assert over and answer.endswith(STOP), (message, answer)
    return answer


# -- answering what is asked ------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Could you tell me your name and ID, please?",
        "Before we start, I need to verify your identity.",
        "Who am I speaking with?",
    ],
)
def test_identity_requests_get_every_identifier(question):
    user = UserSimulator(scenario({"customer id": "CUS-00001", "email": "a@b.c", "date": "x"}))
    assert (
        say(user, question) == "My name is Ann Lee. My customer id is CUS-00001. My email is a@b.c."
    )


def test_a_user_without_a_name_gives_its_ids_when_asked_its_name():
    user = UserSimulator(scenario(persona="The general manager of the Boston Owls."))
    assert say(user, "May I have your name?") == "My customer id is CUS-00001. My email is a@b.c."


@pytest.mark.parametrize(
    "question, answer",
    [
        ("What is your customer number?", "My customer id is CUS-00001."),
        ("Could you give me your e-mail and customer ID?",
         "My current email is a@b.c. My customer id is CUS-00001."),
        ("Which date do you want?", "My date is 2025-10-11."),
        ("When would you like to travel?", "My date is 2025-10-11."),
        ("What's your email?", "My current email is a@b.c."),
        ("And your new email address?", "My new email is n@b.c."),
        ("How many people will be in your party?", "My party is 4."),
        ("Where are you travelling from?", "From Oslo."),
    ],
)  # fmt: skip
def test_the_field_asked_for_is_given(question, answer):
    known = {
        "customer id": "CUS-00001",
        "current email": "a@b.c",
        "new email": "n@b.c",
        "date": "2025-10-11",
        "party": "4",
        "from": "Oslo",
    }
    assert say(UserSimulator(scenario(known)), question) == answer


def test_a_field_the_user_lacks_is_named_not_answered_with_another():
    user = UserSimulator(scenario({"account id": "ACC-1", "email": "a@b.c"}))
    assert say(user, "What is your mother's maiden name?") == (
        "I'm sorry, I don't have my mother's maiden name."
    )
    assert say(user, "What is your customer id?") == "I'm sorry, I don't have my customer id."


def test_a_withheld_field_is_declined_even_in_an_identity_request():
    user = UserSimulator(scenario(withhold=("email",)))
    assert say(user, "What is your email?") == "I'd rather not give my email."
    assert say(user, "Please verify your identity.") == (
        "My name is Ann Lee. My customer id is CUS-00001. I'd rather not give my email."
    )


# -- closings ---------------------------------------------------------------------------------


def test_have_a_good_day_gets_no_random_field():
    known = {"customer id": "CUS-00001", "date": "2025-10-11"}
    user = UserSimulator(scenario(known, communicate=("42.50",), writes=False))
    answer = say(user, "Have a good day!")
    assert "2025-10-11" not in answer and "CUS-00001" not in answer
    assert answer.startswith("Not yet.")
    ends(user, "Your balance is 42.50. Have a good day!")


def test_anything_else_after_the_outcome_ends_the_call():
    user = UserSimulator(scenario(writes=True))
    assert say(user, "Shall I block the card?").startswith("Yes")
    answer = ends(user, "Your card has been blocked. Is there anything else I can help with?")
    assert answer.startswith("No, that's")


def test_anything_else_before_the_outcome_restates_what_is_pending():
    user = UserSimulator(scenario(communicate=("CRD-9",), unknown_info="You want to know the id."))
    assert say(user, "Is there anything else I can help you with?") == (
        "Not yet. I want to know the id."
    )
    ends(user, "The card is blocked. Its replacement is CRD-9.")


@pytest.mark.parametrize(
    "message", ["Goodbye.", "I'm transferring you to a human agent.", "I cannot help with that."]
)
def test_the_agent_ends_the_conversation(message):
    ends(UserSimulator(scenario()), message)


def test_the_user_waits_to_hear_the_change_was_made():
    user = UserSimulator(scenario(communicate=("19.99",), writes=True))
    assert say(user, "The fee is 19.99.") == "Thank you. Has the change been made?"
    ends(user, "Yes, the card is now blocked.")


def test_the_user_gives_up_without_progress():
    user = UserSimulator(scenario())
    for _ in range(4):
        say(user, "Let me check something.")
    ends(user, "Let me check something.")


# -- proposals ----------------------------------------------------------------------------------


def test_which_date_is_a_question_not_a_confirmation():
    user = UserSimulator(scenario({"date": "2025-10-11"}))
    assert say(user, "Which date do you want?") == "My date is 2025-10-11."


def test_refuse():
    user = UserSimulator(scenario(reactions="refuse"))
    assert say(user, "Would you like me to issue a replacement card?") == (
        "No, please don't do that."
    )
    ends(user, "Understood. Is there anything else?")  # no change is wanted any more


def test_change_of_mind_without_an_alternative():
    user = UserSimulator(scenario(reactions="change_mind"))
    assert say(user, "Shall I block the card?").startswith("Yes")
    assert say(user, "To confirm: block card 1234 now?") == (
        "Actually, I've changed my mind. Please don't do it."
    )
    assert say(user, "Are you sure you do not want it blocked?") == "No, please don't do that."


def test_change_of_mind_to_an_alternative():
    user = UserSimulator(
        scenario(reactions="change_mind", change_to="You would rather freeze your account.")
    )
    assert say(user, "Shall I block the card?").startswith("Yes")
    assert say(user, "Can you confirm you want card 1234 blocked?") == (
        "Actually, I've changed my mind. I would rather freeze my account."
    )
    assert say(user, "Shall I freeze the account instead?").startswith("Yes")


def test_insist_once_then_accept_the_answer():
    user = UserSimulator(scenario(reactions="insist"))
    refusal = "Unfortunately the dispute window has closed, so this is not possible."
    assert say(user, refusal) == "I really need this done. Could you please check again?"
    ends(user, refusal)


def test_an_accepting_user_takes_no_for_an_answer():
    ends(UserSimulator(scenario()), "I'm afraid the card is not eligible for that.")


# -- the opening --------------------------------------------------------------------------------

TAU2_STYLE = [
    "You are Mia Li and you're in a rush. Your flight HAT123 was cancelled and you want a refund "
    "to your original card. If the agent asks you to confirm, say yes. Be insistent that you "
    "get the full refund. Do not reveal your membership level.",
    "You want to change your reservation; do not mention the coupon. The agent asks you to "
    "confirm every change. You were told the fee is waived.",
    "You aren't sure which account you used; make sure the agent looks it up.",
]


@pytest.mark.parametrize("reason", TAU2_STYLE)
def test_the_opening_is_first_person_and_never_reads_instructions(reason):
    said = opening(reason)
    for broken in ("I're", "asks I", "you", "You", "agent", "insist", "reveal", "mention"):
        assert broken not in said, said
    assert said.startswith("I")


def test_the_opening_keeps_what_the_user_wants():
    assert opening(TAU2_STYLE[0]) == (
        "I am Mia Li and I'm in a rush. My flight HAT123 was cancelled and I want a refund to "
        "my original card."
    )
    assert opening("The store sold you a broken TV; you want it replaced.") == (
        "The store sold me a broken TV; I want it replaced."
    )


def test_bundled_openings_are_clean():
    env = OrchestraEnv("function_calling")
    for i in range(60):
        prompt = env.suite.task(f"function_calling/{i}").prompt
        assert not any(w in prompt for w in ("I're", "asks I", " you ", "Be insistent")), prompt


# -- grader independence and determinism ----------------------------------------------------


def _write_task(env):
    """A bundled task whose golden actions write and that has something to communicate."""
    family = env.suite.family("function_calling")
    for i in range(200):
        task = env.suite.task(f"function_calling/{i}")
        if family.scenario(task).writes and task.case.communicate_info:
            return task
    raise AssertionError("no writing task with information to communicate")


def test_the_reply_is_the_same_whether_or_not_the_database_matches():
    env = OrchestraEnv("function_calling", max_turns=40)
    task = _write_task(env)
    message = "<message>Everything is done. " + "; ".join(task.case.communicate_info) + "</message>"
    replies = []
    for calls in (task.case.actions, []):  # the database matches the golden one, or not
        env.reset(seed=0, options={"task_id": task.id, "episode_seed": 7})
        for action in calls:
            env.step(tool_call(action["name"], action["arguments"]))
        _, _, terminated, _, info = env.step(message)
        replies.append((env.unwrapped._episode.messages[-1]["content"], terminated))
        assert info["outcome"] == (1 if calls else 0)
    assert replies[0] == replies[1]
    assert replies[0][1]  # the user was told the outcome: it ends the call either way


DIALOGUE = [
    "Hello! Could you tell me your name and ID, please?",
    "Which date do you want?",
    "Shall I go ahead?",
    "Done. Have a good day!",
]


def test_same_seed_same_replies_and_the_seed_varies_phrasing():
    def play(seed):
        user = UserSimulator(scenario({"customer id": "C-1", "date": "2025-10-11"}), seed)
        return [user.reply(m) for m in DIALOGUE]

    assert play(3) == play(3)
    assert len({tuple(play(seed)) for seed in range(10)}) > 1
    assert {tuple(r[0] for r in play(s)[:2]) for s in range(10)} == {
        ("My name is Ann Lee. My customer id is C-1.", "My date is 2025-10-11.")
    }  # the seed changes pleasantries, never the answers


def test_env_episodes_replay_the_same_user():
    env = OrchestraEnv("function_calling", max_turns=8)
    transcripts = []
    for _ in range(2):
        env.reset(seed=0, options={"task_id": "function_calling/3", "episode_seed": 11})
        for message in DIALOGUE:
            *_, terminated, truncated, _ = env.step(f"<message>{message}</message>")
            if terminated or truncated:
                break
        transcripts.append(env.unwrapped._episode.messages)
    assert transcripts[0] == transcripts[1]


# -- scenario fields in domain files ------------------------------------------------------------


def write_domain(folder: Path, edit) -> Path:
    doc = copy.deepcopy(EXAMPLE)
    edit(doc)
    folder.mkdir(parents=True)
    (folder / "domain.json").write_text(json.dumps(doc))
    (folder / "policy.md").write_text("# policy\n")
    return folder


def with_behaviour(doc):
    doc["tasks"][BORROW]["user"].update(
        withhold=["book id"],
        reactions="change_mind",
        change_to="You would rather borrow it next week.",
    )


def test_scenario_fields_validate_and_reach_the_task(tmp_path):
    folder = write_domain(tmp_path / "library", with_behaviour)
    report = validate_domain(folder, per_template=3)
    assert report.ok, report.problems
    domain = load_domain(folder)
    tasks = {t.template: t for t in map(domain.task, range(8))}
    task = tasks["borrow"]
    assert task.withhold == ("book id",) and task.reactions == "change_mind"
    assert task.change_to == "You would rather borrow it next week."
    told = task.to_tau2()["user_scenario"]["instructions"]["task_instructions"]
    assert "Never give your book id" in told and "change your mind: You would rather" in told
    composed = tasks["return_then_borrow"]
    assert composed.withhold == ("book id",) and composed.reactions == "change_mind"
    assert "withhold" not in tasks["return"].to_tau2()["user_scenario"]["instructions"]


@pytest.mark.parametrize(
    "edit, pointer, words",
    [
        (lambda u: u.update(withhold=["pin"]), "/tasks/1/user/withhold/0", "not a known field"),
        (lambda u: u.update(reactions="sulk"), "/tasks/1/user/reactions", "sulk"),
        (lambda u: u.update(change_to="You want X."), "/tasks/1/user", "reactions"),
    ],
)
def test_bad_scenario_fields_are_named(tmp_path, edit, pointer, words):
    folder = write_domain(tmp_path / "broken", lambda doc: edit(doc["tasks"][BORROW]["user"]))
    report = validate_domain(folder, per_template=3)
    assert not report.ok
    assert any(p.pointer.startswith(pointer) and words in p.message for p in report.problems), (
        report.problems
    )


def test_previously_valid_domains_keep_the_accepting_user():
    task = OrchestraEnv("function_calling").suite.task("function_calling/0").case
    assert (task.withhold, task.reactions, task.change_to) == ((), "accept", None)


# -- the LLM user -------------------------------------------------------------------------------


class FakeBackend:
    """Answers from a script and records what it was sent."""

    def __init__(self, *texts: str):
        self.texts = list(texts)
        self.sent: list[list[dict]] = []

    def generate(self, messages, *, tools=None, **sampling) -> Generation:
        self.sent.append([dict(m) for m in messages])
        return Generation(text=self.texts.pop(0), prompt_tokens=1, completion_tokens=1, seconds=0)


def test_llm_user_plays_the_same_scenario():
    backend = FakeBackend("<think>hm</think>My customer id is CUS-00001.", f"Thanks! {STOP}")
    user = LLMUser(backend, scenario(withhold=("email",), reactions="refuse"))
    assert user.reply("Your customer id?") == ("My customer id is CUS-00001.", False)
    assert user.reply("Done.") == (f"Thanks! {STOP}", True)
    system, greeting, own, asked, answered, done = backend.sent[-1]
    assert system["role"] == "system"
    assert "customer id: CUS-00001" in system["content"]
    assert "You want your card ending in 1234 blocked." in system["content"]
    assert "Never give your email" in system["content"] and "decline it" in system["content"]
    assert (greeting["role"], own["role"], asked["role"]) == ("user", "assistant", "user")
    assert own["content"] == "Hi. I want my card ending in 1234 blocked."
    assert answered["content"] == "My customer id is CUS-00001."  # its reasoning is not kept


def test_env_speaks_through_an_llm_user():
    backend = FakeBackend("Sure, it is CUS-00001.")
    env = OrchestraEnv("function_calling", user="llm", user_backend=backend)
    assert env.spec is None or env.spec.nondeterministic
    env.reset(seed=0)
    env.step("<message>What is your customer id?</message>")
    assert env.unwrapped._episode.messages[-1] == {
        "role": "user",
        "content": "Sure, it is CUS-00001.",
    }
    assert "What is your customer id?" in backend.sent[0][-1]["content"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"user": "llm"}, "needs user_backend"),
        ({"user_backend": FakeBackend()}, "only used with user='llm'"),
        ({"user": "human"}, "user must be one of"),
        ({"user": "llm", "user_backend": object()}, "user_backend must be a Backend"),
        ({"user": "llm", "user_backend": {"backend": "nope"}}, "'backend' must be one of"),
    ],
)
def test_bad_user_options_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        OrchestraEnv("function_calling", **kwargs)
