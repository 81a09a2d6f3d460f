"""pydantic's validation errors as webstack's one-line problems: the setting (apps named by name,
not index), what is wrong and what is allowed."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError


def _loc(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Turn pydantic's location into a config path, naming apps by name instead of index."""
    path = ""
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            entry = node[item] if isinstance(node, list) and item < len(node) else None
            label = entry.get("name") if isinstance(entry, dict) else None
            path += f".{label}" if label else f"[{item}]"
            node = entry
        elif isinstance(item, str) and "[" not in item and not item.startswith("function-"):
            if node is not None and not isinstance(node, dict | list):
                continue  # a union member's tag (`int` of `int | Literal['auto']`), not a key
            path += f".{item}"
            node = node.get(item) if isinstance(node, dict) else None
    return path.lstrip(".") or "config"


_TYPE_NAMES = {
    "int_type": "a whole number (not a string or true/false)",
    "bool_type": "true or false (not a string or number)",
    "string_type": 'a string (quote numbers, e.g. "3.12")',
    "list_type": "a list",
    "dict_type": "a mapping",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_SETTING_PREFIX = re.compile(r"^[a-z_][a-z0-9_.\-]*: ")


def problem_lines(error: ValidationError, data: dict[str, Any]) -> list[str]:
    """One line per problem, each starting with the setting it is about."""
    lines: dict[str, list[str]] = {}
    for err in error.errors(include_url=False):
        msg = err["msg"].removeprefix("Value error, ")
        where = _loc(tuple(err["loc"]), data)
        if err["type"] == "missing":
            msg = "is required (it has no default; see the config reference)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown setting (check the spelling; see the config reference)"
        elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
            msg = f"must be a mapping of settings, not {err.get('input')!r}"
        elif err["type"] == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern", "")
            msg = f"{err.get('input')!r} is not in the allowed form {pattern}"
        elif err["type"] in _TYPE_NAMES:
            msg = f"must be {_TYPE_NAMES[err['type']]}, not {_short(err.get('input'))}"
        elif err["type"] == "literal_error":
            msg = f"{err.get('input')!r} is not allowed; {msg[0].lower()}{msg[1:]}"
        # Cross-field rules already name their setting; keep the path relative to where it was raised.
        if _SETTING_PREFIX.match(msg):
            where = "" if where == "config" else where + "."
            lines.setdefault(f"{where}{msg}", [])
        else:
            lines.setdefault(f"{where}:", []).append(msg)
    # One line per setting: the members of a union (`int | 'auto'`) each report on their own.
    return [f"{k} {' | '.join(v)}" if v else k for k, v in lines.items()]


class SpecError(Exception):
    """A user's configuration mistake: one line per problem, each naming the setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
