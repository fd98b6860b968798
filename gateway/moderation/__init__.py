"""Gateway-only text moderation: the cloud page judges (OpenAI, Gemini), their prompt, reply checks and batching.

The local matcher they fall back to is shared with the imaging worker and lives in ``shared.moderation``.
"""
