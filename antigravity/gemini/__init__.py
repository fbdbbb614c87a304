"""The Gemini side of the wire."""
