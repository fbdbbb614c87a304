"""thinkingConfig: Gemini's rules per model family, and how much the emulator "thinks".

The emulator thinks only when asked to (includeThoughts, a non-zero thinkingBudget or a
thinkingLevel), so requests without a thinkingConfig keep their exact, thought-free answers.
Thinking spends tokens whether or not the thoughts are shown: they are reported as
thoughtsTokenCount and count against maxOutputTokens before the visible answer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import invalid_argument, invalid_value, unknown_field
from .protojson import as_int, enum_value

FIELDS = frozenset({"includeThoughts", "thinkingBudget", "thinkingLevel"})
LEVELS = frozenset({"THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"})
WHERE = "generation_config.thinking_config"


@dataclass(frozen=True)
class Thinking:
    enabled: bool = False
    shown: bool = False
    budget: int | None = None  # most thought tokens; None: as many as it likes
    deep: bool = False  # high level or a large/dynamic budget: a longer thought


def max_budget(model: str) -> int:
    return 24576 if model.startswith("gemini-2.5-flash") else 32768


def check_thinking_config(body: dict[str, Any], model: str) -> None:
    config = (body.get("generationConfig") or {}).get("thinkingConfig")
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid_value(WHERE, config, "ThinkingConfig")
    for key in config:
        if key not in FIELDS:
            raise unknown_field(key, WHERE)
    if "includeThoughts" in config and not isinstance(config["includeThoughts"], bool):
        raise invalid_value(f"{WHERE}.include_thoughts", config["includeThoughts"], "TYPE_BOOL")
    budget = config.get("thinkingBudget")
    if budget is not None and as_int(budget) is None:
        raise invalid_value(f"{WHERE}.thinking_budget", budget, "TYPE_INT32")
    level = config.get("thinkingLevel")
    if level is not None and enum_value(level, LEVELS) is None:
        raise invalid_value(f"{WHERE}.thinking_level", level, "GenerationConfig.ThinkingLevel")
    if budget is not None and level is not None:
        raise invalid_argument("You can only set only one of thinking budget and thinking level.")
    if level is not None:
        _check_level(model, enum_value(level, LEVELS) or "")
    if budget is not None:
        _check_budget(model, as_int(budget) or 0)


def _check_level(model: str, level: str) -> None:
    if not model.startswith("gemini-3"):
        raise invalid_argument("Thinking level is not supported for this model.")
    if level in ("MINIMAL", "MEDIUM") and "flash" not in model:
        raise invalid_argument(f"Thinking level {level} is not supported for this model.")


def _check_budget(model: str, budget: int) -> None:
    if budget == 0 and model.startswith("gemini-2.5-pro"):
        raise invalid_argument("Budget 0 is invalid. This model only works in thinking mode.")
    if budget < -1 or budget > max_budget(model):
        raise invalid_argument(f"The thinking budget ({budget}) is invalid.")


def plan(config: dict[str, Any]) -> Thinking:
    """How the emulator thinks for a validated generationConfig."""
    thinking = config.get("thinkingConfig") or {}
    shown = thinking.get("includeThoughts") is True
    budget = as_int(thinking.get("thinkingBudget"))
    level = enum_value(thinking.get("thinkingLevel"), LEVELS)
    if budget == 0:
        return Thinking()
    if not (shown or budget is not None or level is not None):
        return Thinking()
    deep = level == "HIGH" or budget == -1 or (budget is not None and budget >= 1024)
    return Thinking(True, shown, budget if budget and budget > 0 else None, deep)


def thought(plan_: Thinking, intent: str) -> str:
    """The emulator's thought summary for an answer that will do `intent`."""
    text = f"Thinking (emulator): {intent}"
    if plan_.deep:
        text += " Checking the request once more before answering."
    if plan_.budget is not None:
        text = " ".join(text.split()[: plan_.budget])
    return text
