"""`python -m antigravity.replay run FILE...` and `python -m antigravity.replay scenario REC`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from antigravity.replay import record, runner
from antigravity.replay.scenario import ScenarioError, dump, load

SCENARIOS = Path(__file__).resolve().parent.parent.parent / "tests" / "replay" / "scenarios"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m antigravity.replay")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="play scenarios through a real mitmdump")
    run.add_argument("files", nargs="*", type=Path, help=f"default: every file in {SCENARIOS}")
    run.add_argument("--log", action="store_true", help="print mitmdump's log of failed ones")
    convert = commands.add_parser("scenario", help="turn a `just record` file into a scenario")
    convert.add_argument("recording", type=Path)
    convert.add_argument("-o", "--out", type=Path, help="default: RECORDING with .yaml")
    convert.add_argument("--name", help="the scenario's name (default: the file's)")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args.files or sorted(SCENARIOS.glob("*.yaml")), args.log)
    return _convert(args.recording, args.out, args.name)


def _run(files: list[Path], show_log: bool) -> int:
    failed = 0
    for path in files:
        try:
            scenario = load(path)
        except ScenarioError as e:
            print(f"✗ {e}")
            failed += 1
            continue
        result = runner.run(scenario)
        print(result.report())
        if not result.ok:
            failed += 1
            if show_log:
                print(result.log)
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _convert(recording: Path, out: Path | None, name: str | None) -> int:
    try:
        records = record.read_recording(recording)
    except (OSError, ValueError) as e:
        print(f"cannot read {recording}: {e}", file=sys.stderr)
        return 1
    if not records:
        print(f"{recording} holds no recorded calls", file=sys.stderr)
        return 1
    target = out or recording.with_suffix(".yaml")
    dump(record.to_scenario(records, name or recording.stem), target)
    print(f"wrote {target} ({len(records)} step(s)); play it with: just replay {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
