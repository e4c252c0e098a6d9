"""Behaviour is pinned: the recorded episodes replay to the same digests in a fresh process."""

import json

from tests.trajectory_digests import CASES, PATH, digests


def test_recorded_episodes_replay_byte_identically():
    recorded = json.loads(PATH.read_text())
    replayed = digests(episodes_per_case=len(recorded) // len(CASES))
    assert replayed.keys() == recorded.keys()
    changed = sorted(k for k in recorded if replayed[k] != recorded[k])
    assert not changed, f"{len(changed)} of {len(recorded)} episodes changed, e.g. {changed[:3]}"
