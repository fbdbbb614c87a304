"""Pydantic wire models of the OpenAI side, and parsing that reports the offending field."""
