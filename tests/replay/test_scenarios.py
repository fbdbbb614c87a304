"""Every scenario in tests/replay/scenarios/ played through a real mitmdump (`just replay`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from antigravity.replay import runner
from antigravity.replay.scenario import ScenarioError, load

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 6


@pytest.mark.e2e
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    result = runner.run(load(path))
    if not result.ok:
        pytest.fail(f"{result.report()}\n--- mitmdump log ---\n{result.log}", pytrace=False)


def test_misspelt_field_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps:\n  - request: {}\n    expect: {finish: stop}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: steps.0.expect.finish: Extra inputs"):
        load(path)


def test_missing_fixture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps:\n  - request: {}\n    upstream: [{fixture: nope.json}]\n")
    with pytest.raises(ScenarioError, match=r"fixture 'nope\.json' not found"):
        load(path)


def test_an_answer_has_one_source(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps:\n  - request: {}\n    upstream: [{body: {}, events: []}]\n")
    with pytest.raises(ScenarioError, match="give one of body, events or fixture"):
        load(path)
