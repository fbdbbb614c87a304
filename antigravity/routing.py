"""Model routing: which Gemini model answers a client's model name, read from mappings.yaml."""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from antigravity.watched import WatchedFile

from . import errors

_GEMINI_PREFIXES = ("gemini-", "gemma-")
_RESOURCE_PREFIX = "models/"
_SUGGESTIONS = 3


@dataclass(frozen=True)
class Route:
    """The routing decision for one request."""

    requested: str
    model: str
    rule: str


class MappingsError(ValueError):
    """An unusable mappings file; the message names the file, the line if known, and the problem."""

    def __init__(
        self, source: str, problem: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        self.column = column
        where = ":".join(str(part) for part in (source, line, column) if part is not None)
        super().__init__(f"{where}: {problem}")


class Wildcard(NamedTuple):
    """A `*` pattern compiled once; `literals` (non-`*` characters) ranks its specificity."""

    pattern: str
    target: str
    regex: re.Pattern[str]
    literals: int

    @classmethod
    def compile(cls, pattern: str, target: str) -> Wildcard:
        regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
        return cls(pattern, target, regex, len(pattern) - pattern.count("*"))


def _by_specificity(wildcards: tuple[Wildcard, ...]) -> tuple[Wildcard, ...]:
    # sorted() is stable, so equally specific patterns keep their file order.
    return tuple(sorted(wildcards, key=lambda w: -w.literals))


_FLASH = "gemini-2.5-flash"
_PRO = "gemini-2.5-pro"
BUILTIN_DEFAULTS: tuple[Wildcard, ...] = _by_specificity(
    tuple(
        Wildcard.compile(pattern, target)
        for pattern, target in (
            ("gpt-4o*", _FLASH),
            ("gpt-4*", _FLASH),
            ("gpt-3.5*", _FLASH),
            ("chatgpt-*", _FLASH),
            ("o1*", _PRO),
            ("o3*", _PRO),
            ("o4*", _PRO),
            ("gpt-5*", _PRO),
            ("codex-*", _PRO),
        )
    )
)


@dataclass(frozen=True)
class RoutingTable:
    """Parsed routes; `RoutingTable()` is the built-in-only table used when no file is loaded."""

    source: str = "<built-in>"
    models: tuple[str, ...] = ()
    exact: Mapping[str, str] = field(default_factory=dict)
    wildcards: tuple[Wildcard, ...] = ()
    _listed: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _passthrough: frozenset[str] = field(init=False, repr=False, compare=False)
    _lowered: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        listed = tuple(dict.fromkeys([*self.models, *self.exact]))
        object.__setattr__(self, "wildcards", _by_specificity(self.wildcards))
        object.__setattr__(self, "_listed", listed)
        object.__setattr__(self, "_passthrough", frozenset(self.models))
        # Suggestions compare case-insensitively so `GPT-4o` still suggests `gpt-4o`.
        object.__setattr__(self, "_lowered", {name.lower(): name for name in reversed(listed)})

    def resolve(self, name: str) -> Route:
        """Route a client model name, or raise a 404 `model_not_found` ApiError."""
        name = name.strip()
        target = self.exact.get(name)
        if target is not None:
            return Route(name, target, f"exact {name}")
        for wildcard in self.wildcards:
            if wildcard.regex.fullmatch(name):
                return Route(name, wildcard.target, f"wildcard {wildcard.pattern}")
        for wildcard in BUILTIN_DEFAULTS:
            if wildcard.regex.fullmatch(name):
                return Route(name, wildcard.target, f"default {wildcard.pattern}")
        bare = name.removeprefix(_RESOURCE_PREFIX)
        if bare.startswith(_GEMINI_PREFIXES) or bare in self._passthrough:
            return Route(name, bare, "passthrough")
        raise errors.model_not_found(name, self.suggest(name))

    def suggest(self, name: str) -> list[str]:
        """Up to three listed names close to `name`."""
        close = difflib.get_close_matches(name.lower(), self._lowered, n=_SUGGESTIONS)
        return [self._lowered[match] for match in close]

    def listed_models(self) -> list[str]:
        """`models:` entries, then exact mapping keys, without duplicates (for /v1/models)."""
        return list(self._listed)


_Name = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]


class _MappingsDoc(BaseModel):
    # Other top-level keys (a default model, per-route options) are allowed and ignored here.
    model_config = ConfigDict(extra="allow")

    models: list[_Name] = []
    mappings: dict[_Name, _Name] = {}

    @field_validator("models", "mappings", mode="before")
    @classmethod
    def _empty_section(cls, value: Any, info: ValidationInfo) -> Any:
        # A section with every entry commented out is empty, not an error.
        if value is None:
            return [] if info.field_name == "models" else {}
        return value


def _line_of(doc: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the node at a pydantic error location, using ruamel's line info."""
    line: int | None = None
    node = doc
    for part in loc:
        lc = getattr(node, "lc", None)
        if part == "[key]" or lc is None:
            break
        if isinstance(node, dict):
            # pydantic reports non-string keys (`1.5:`) by their string form.
            key = next((k for k in node if k == part or str(k) == str(part)), None)
            if key is None:
                break
            line = lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _yaml_kind(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return f"{name} ({value!r}); quote it"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if getattr(value, "tag", None) is not None:
        return "a tagged value"
    return f"a {type(value).__name__}"


def _describe(error: Any) -> str:
    """A pydantic error in the words of the file format."""
    loc = tuple(error["loc"])
    value = error.get("input")
    if not loc:
        return "the file must be a mapping with a `mappings:` section"
    section = loc[0]
    if len(loc) == 1:
        if section == "models":
            return "`models` must be a list of model names"
        return (
            "`mappings` must map client model names to Gemini model names, "
            "e.g. `gpt-4o: gemini-2.5-flash`"
        )
    if loc[-1] == "[key]":
        what = f"key {value!r} in `mappings`"
    elif section == "mappings":
        what = f"`mappings` entry {loc[1]!r}"
    else:
        what = f"`models` item {loc[1]}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{what} is empty; give a model name"
    if error["type"] == "string_type":
        return f"{what} must be a string, not {_yaml_kind(value)}"
    return f"{what}: {error['msg']}"


def parse_mappings(text: str, source: str = "mappings.yaml") -> RoutingTable:
    """Parse and validate a mappings file; raise MappingsError saying what is wrong and where."""
    # The round-trip loader constructs only plain data (unknown tags stay inert) and, unlike the
    # `safe` one, keeps line numbers for validation errors.
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = "YAML error: " + ": ".join(str(p) for p in (exc.context, exc.problem) if p)
        if mark is None:
            raise MappingsError(source, problem) from None
        raise MappingsError(source, problem, mark.line + 1, mark.column + 1) from None
    except YAMLError as exc:
        raise MappingsError(source, f"YAML error: {exc}") from None
    if doc is None:
        return RoutingTable(source=source)
    try:
        parsed = _MappingsDoc.model_validate(doc)
    except ValidationError as exc:
        problems = exc.errors()
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        line = _line_of(doc, tuple(first["loc"]))
        raise MappingsError(source, _describe(first) + more, line) from None
    exact: dict[str, str] = {}
    wildcards: list[Wildcard] = []
    for key, target in parsed.mappings.items():
        if "*" in key:
            wildcards.append(Wildcard.compile(str(key), str(target)))
        else:
            exact[str(key)] = str(target)
    return RoutingTable(
        source=source,
        models=tuple(dict.fromkeys(str(m) for m in parsed.models)),
        exact=exact,
        wildcards=tuple(wildcards),
    )


def load_mappings(path: Path) -> RoutingTable:
    """Read and parse a mappings file (OSError if it cannot be read)."""
    return parse_mappings(path.read_text(encoding="utf-8"), str(path))


class MappingsFile(WatchedFile[RoutingTable]):
    """The mappings file, reloaded when it changes; `table` is the last good one."""

    def __init__(
        self,
        path: Path,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            path, load_mappings, RoutingTable(), (MappingsError,), check_interval, clock
        )

    @property
    def table(self) -> RoutingTable:
        return self.value
