"""antigravity: OpenAI-API clients on Google Gemini, as a mitmproxy addon."""
