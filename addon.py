"""Entry point for `mitmdump -s addon.py --mode reverse:https://generativelanguage.googleapis.com`."""

import sys
from pathlib import Path

# Let `-s addon.py` work from a checkout even when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mitmproxy import contentviews

from antigravity.gateway import Gateway
from antigravity.inspect import ExchangeView, Inspector
from antigravity.replay.record import Recorder

# mitmweb picks this view for the gateway's flows; registering again on reload replaces it.
contentviews.add(ExchangeView)

# The recorder's two halves sit around the gateway: the first sees Gemini's whole answers
# before they are translated, the second wraps the stream callable the gateway installs.
recorder = Recorder()
addons = [Inspector(), recorder.before_gateway, Gateway(), recorder.after_gateway]
