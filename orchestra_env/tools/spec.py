"""A tool as the policy sees it: name, description (prices included) and JSON-Schema arguments."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

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

    def __getstate__(self) -> dict:
        # The compiled validator does not pickle (vector envs and Ray ship spaces between
        # processes); it is rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k != "validator"}

    def argument_error(self, arguments: dict) -> str | None:
        """Why `arguments` do not fit the schema (naming the argument), or None if they do."""
        return self._argument_error(json.dumps(arguments, sort_keys=True))

    @lru_cache(maxsize=4096)  # noqa: B019 (specs live as long as their env; arguments repeat a lot)
    def _argument_error(self, canonical: str) -> str | None:
        error = next(iter(self.validator.iter_errors(json.loads(canonical))), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        place = f"argument {where!r}" if where else "arguments"
        return f"{place}: {error.message}"

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
