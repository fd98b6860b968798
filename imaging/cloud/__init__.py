"""Cloud image providers (OpenAI, Gemini): clients, prompts and the limits every call runs under."""
