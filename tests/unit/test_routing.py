from pathlib import Path

import pytest

from antigravity.errors import ApiError
from antigravity.routing import MappingsError, MappingsFile, RoutingTable, parse_mappings

SHIPPED = Path(__file__).parents[2] / "mappings.yaml"


def table(mappings: str, models: str = "") -> RoutingTable:
    return parse_mappings(f"models: [{models}]\nmappings:\n{mappings}")


def test_exact_mapping_beats_wildcard() -> None:
    routes = table('  "gpt-4*": gemini-2.5-pro\n  gpt-4o: gemini-2.5-flash\n')
    route = routes.resolve("gpt-4o")
    assert (route.model, route.rule) == ("gemini-2.5-flash", "exact gpt-4o")


def test_longest_literal_wildcard_wins() -> None:
    routes = table('  "gpt-*": a\n  "gpt-4o*": b\n  "gpt-4*": c\n')
    assert routes.resolve("gpt-4o-mini").rule == "wildcard gpt-4o*"
    assert routes.resolve("gpt-4.1").model == "c"
    assert routes.resolve("gpt-3.5").model == "a"


def test_wildcard_tie_is_broken_by_file_order() -> None:
    assert table('  "gpt*": first\n  "*-4o": second\n').resolve("gpt-4o").model == "first"
    assert table('  "*-4o": second\n  "gpt*": first\n').resolve("gpt-4o").model == "second"


def test_star_matches_empty_run_and_middle() -> None:
    routes = table('  "claude-*-sonnet*": pro\n')
    assert routes.resolve("claude--sonnet").model == "pro"
    assert routes.resolve("claude-3-5-sonnet-latest").model == "pro"


def test_user_wildcard_beats_builtin_default() -> None:
    route = table('  "o3*": gemini-3-pro-preview\n').resolve("o3-mini")
    assert (route.model, route.rule) == ("gemini-3-pro-preview", "wildcard o3*")


def test_builtin_defaults_apply_without_a_file() -> None:
    routes = RoutingTable()
    assert routes.resolve("gpt-4o-2024-08-06").rule == "default gpt-4o*"
    assert routes.resolve("gpt-3.5-turbo").model == "gemini-2.5-flash"
    assert routes.resolve("codex-mini-latest").model == "gemini-2.5-pro"


def test_gemini_names_pass_through_without_models_prefix() -> None:
    route = RoutingTable().resolve("models/gemini-2.0-flash")
    assert (route.model, route.rule) == ("gemini-2.0-flash", "passthrough")
    assert RoutingTable().resolve("gemma-3-27b-it").model == "gemma-3-27b-it"


def test_listed_model_passes_through() -> None:
    assert table("", models="learnlm-2.0").resolve("learnlm-2.0").model == "learnlm-2.0"


def test_client_name_is_stripped_but_case_sensitive() -> None:
    routes = table("  gpt-4o: gemini-2.5-flash\n")
    assert routes.resolve("  gpt-4o\n").model == "gemini-2.5-flash"
    with pytest.raises(ApiError):
        routes.resolve("GPT-4O")


def test_unknown_model_suggests_close_names() -> None:
    routes = table("  my-model: gemini-2.5-flash\n", models="gemini-2.5-pro")
    with pytest.raises(ApiError) as caught:
        routes.resolve("MY-modle")
    assert (caught.value.status, caught.value.code, caught.value.param) == (
        404,
        "model_not_found",
        "model",
    )
    assert "Did you mean: my-model?" in caught.value.message


def test_listed_models_excludes_wildcards_and_duplicates() -> None:
    routes = table(
        '  gpt-4o: gemini-2.5-flash\n  "gpt-4*": x\n  gemini-2.5-pro: y\n',
        models="gemini-2.5-flash, gemini-2.5-pro, gemini-2.5-flash",
    )
    assert routes.listed_models() == ["gemini-2.5-flash", "gemini-2.5-pro", "gpt-4o"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("mappings:\n  gpt-4o:\n", 2, "'gpt-4o' is empty"),
        ("mappings:\n  gpt-4o: ' '\n", 2, "'gpt-4o' is empty"),
        ("mappings:\n  a: b\n  gpt-4o: 4\n", 3, "must be a string, not a number"),
        ("mappings:\n  - gpt-4o\n", 1, "`mappings` must map"),
        ("models:\n  - a\n  - [b]\n", 3, "`models` item 1 must be a string"),
        ("mappings:\n  gpt-4o: [\n", 3, "YAML error"),
        ("mappings:\n  a: b\n  a: c\n", 3, "duplicate key"),
    ],
)
def test_invalid_file_names_file_line_and_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(MappingsError) as caught:
        parse_mappings(text, "routes.yaml")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"routes.yaml:{line}")
    assert words in str(caught.value)


def test_empty_sections_are_allowed() -> None:
    assert parse_mappings("models:\nmappings:\n").listed_models() == []
    assert parse_mappings("").resolve("gpt-4").model == "gemini-2.5-flash"


def test_shipped_file_routes_gpt_4o_to_flash() -> None:
    assert parse_mappings(SHIPPED.read_text(), str(SHIPPED)).resolve("gpt-4o").model == (
        "gemini-2.5-flash"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_invalid_file_keeps_last_good_table(tmp_path: Path) -> None:
    path = tmp_path / "mappings.yaml"
    path.write_text("mappings:\n  gpt-4o: gemini-2.5-pro\n")
    clock = FakeClock()
    watched = MappingsFile(path, check_interval=1.0, clock=clock)
    assert watched.error is None

    path.write_text("mappings:\n  gpt-4o: [\n")
    clock.now = 1.0
    assert watched.maybe_reload() is False
    assert watched.error is not None and f"{path}:3" in watched.error
    assert watched.table.resolve("gpt-4o").model == "gemini-2.5-pro"

    path.write_text("mappings:\n  gpt-4o: gemini-2.5-flash-lite\n")
    clock.now = 2.0
    assert watched.maybe_reload() is True
    assert watched.error is None
    assert watched.table.resolve("gpt-4o").model == "gemini-2.5-flash-lite"


def test_reload_checks_the_file_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "mappings.yaml"
    path.write_text("mappings:\n  a: b\n")
    clock = FakeClock()
    watched = MappingsFile(path, check_interval=1.0, clock=clock)
    path.write_text("mappings:\n  a: longer\n")
    clock.now = 0.5
    assert watched.maybe_reload() is False
    clock.now = 1.0
    assert watched.maybe_reload() is True
    clock.now = 2.0
    assert watched.maybe_reload() is False


def test_missing_file_uses_builtin_table_then_loads_when_created(tmp_path: Path) -> None:
    path = tmp_path / "mappings.yaml"
    clock = FakeClock()
    watched = MappingsFile(path, clock=clock)
    assert watched.error is not None and "not found" in watched.error
    assert watched.table.resolve("gpt-4o").rule == "default gpt-4o*"

    path.write_text("mappings:\n  gpt-4o: gemini-2.5-pro\n")
    clock.now = 1.0
    assert watched.maybe_reload() is True
    assert watched.table.resolve("gpt-4o").model == "gemini-2.5-pro"

    path.unlink()
    clock.now = 2.0
    assert watched.maybe_reload() is False
    assert watched.table.resolve("gpt-4o").model == "gemini-2.5-pro"
