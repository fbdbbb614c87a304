"""Replay scenarios: scripted Gemini answers played through a real mitmdump, and recordings.

`scenario` is the YAML format, `upstream` the scripted Gemini, `runner` plays a scenario
through `mitmdump -s addon.py`, `answer` reads what the client received, and `record` keeps
the upstream side of live traffic and turns it into scenarios.
"""
