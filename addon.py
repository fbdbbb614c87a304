"""Entry point for `mitmdump -s addon.py --mode reverse:https://generativelanguage.googleapis.com`."""

import sys
from pathlib import Path

# Let `-s addon.py` work from a checkout even when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mitmproxy import contentviews

from antigravity.gateway import Gateway
from antigravity.inspect import ExchangeView, Inspector

# mitmweb picks this view for the gateway's flows; registering again on reload replaces it.
contentviews.add(ExchangeView)

addons = [Inspector(), Gateway()]
