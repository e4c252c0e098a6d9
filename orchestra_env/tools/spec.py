"""A tool as the policy sees it: name, description (prices included) and JSON-Schema arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import jsonschema


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict = field(hash=False)  # JSON Schema of the arguments object

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator:
        """The compiled argument validator (built once per spec)."""
        return jsonschema.Draft202012Validator(self.parameters)

    def openai(self) -> dict:
        """The OpenAI / Hermes function-tool format that chat templates take."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def tools_json(specs: tuple[ToolSpec, ...]) -> str:
    """The observation's `tools` field: a JSON list of the specs in OpenAI format."""
    return json.dumps([s.openai() for s in specs], ensure_ascii=False)
