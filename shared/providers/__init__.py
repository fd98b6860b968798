"""The plumbing every caller of a cloud model shares, whatever it asks the model.

Text moderation (``shared.moderation``), the chat (``gateway.chat``) and the imaging worker
(``imaging.cloud``) all reach OpenAI and Gemini through the official SDKs; how a client is built, how
an SDK failure is classified (worth another attempt or not, and after how long) and how retries back
off is defined here once. What each caller sends and how it reads the reply stays with the caller.

* ``errors``: ``ProviderError``, ``Failure`` (one classified SDK failure), Retry-After parsing, the
  HTTP library's transport errors.
* ``retry``: ``Retryable``, ``RetryPolicy`` and the mapping of a ``Failure`` onto them (async callers).
* ``openai`` / ``gemini``: client factories and error classification per SDK.
"""
