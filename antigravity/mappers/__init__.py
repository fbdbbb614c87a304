"""Pure translation between the OpenAI dialects, the canonical model and Gemini."""
