# antigravity — every command a user needs. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".venv"
py := venv / "bin" / "python"
port := env_var_or_default("ANTIGRAVITY_PORT", "8045")
listen := env_var_or_default("ANTIGRAVITY_LISTEN", "127.0.0.1")
upstream := env_var_or_default("ANTIGRAVITY_UPSTREAM", "https://generativelanguage.googleapis.com")

# List the recipes.
default:
    @just --list

# Create .venv with a Python >= 3.12 and install the project (idempotent).
setup:
    @scripts/setup-venv "{{venv}}"

# Run the gateway on port 8045 against Gemini, with keys from GEMINI_API_KEYS.
run *ARGS: setup
    {{venv}}/bin/mitmdump -s addon.py --mode "reverse:{{upstream}}@{{listen}}:{{port}}" --set connection_strategy=lazy {{ARGS}}

# The same under mitmweb, to inspect every mapping and retry in the browser.
web *ARGS: setup
    {{venv}}/bin/mitmweb -s addon.py --mode "reverse:{{upstream}}@{{listen}}:{{port}}" --set connection_strategy=lazy {{ARGS}}

# Start the emulator and the gateway, run the guide's five checks, keep both running (--exit to stop).
demo *ARGS: setup
    {{py}} -m antigravity.demo --port {{port}} {{ARGS}}

# The Gemini emulator alone, for trying the gateway offline (default port 8046).
emulator *ARGS: setup
    {{py}} -m antigravity.emulator {{ARGS}}

# All tests: unit, hook, end-to-end (real mitmdump + emulator + official openai SDK).
test *ARGS: setup
    {{py}} -m pytest {{ARGS}}

# Throughput, latency, time to first token and proxy CPU: emulator vs bare mitmdump vs gateway.
bench *ARGS: setup
    {{py}} bench/bench.py {{ARGS}}

# Lint, format check and type check.
lint: setup
    {{venv}}/bin/ruff check .
    {{venv}}/bin/ruff format --check .
    {{venv}}/bin/mypy antigravity

# Play replay scenarios through a real mitmdump (default: every one in tests/replay/scenarios).
replay *FILES: setup
    {{py}} -m antigravity.replay run {{FILES}}

# Run the gateway (like `run`) and record the upstream side of each call, keys masked, to FILE.
record FILE="recordings/session.jsonl" *ARGS: setup
    @echo "recording to {{FILE}}; then: {{py}} -m antigravity.replay scenario {{FILE}}"
    {{venv}}/bin/mitmdump -s addon.py --mode "reverse:{{upstream}}@{{listen}}:{{port}}" --set connection_strategy=lazy --set antigravity_record="{{FILE}}" {{ARGS}}
