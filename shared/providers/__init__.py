"""The plumbing every caller of a cloud model shares, whatever it asks the model.

Text moderation (``gateway.moderation``), the chat (``gateway.chat``) and the imaging worker
(``imaging.cloud``) all reach OpenAI and Gemini through the official SDKs; how a client is built, how
an SDK failure is classified (worth another attempt or not, and after how long), how retries back
off within a deadline, which provider a setting selects and how a reply schema is given to Gemini is
defined here once. What each caller sends and how it reads the reply stays with the caller.

* ``errors``: ``ProviderError``, ``Failure`` (one classified SDK failure), Retry-After parsing, the
  HTTP library's transport errors.
* ``retry``: ``Retryable``, the one ``RetryPolicy``, ``retry_async`` (gateway) and ``retry_sync``
  (the worker's threads), and the mapping of a ``Failure`` onto ``Retryable`` / ``ProviderError``.
* ``choice``: ``choose_provider``, what ``auto`` / ``openai`` / ``gemini`` / offline resolve to.
* ``schema``: ``gemini_schema``, a reply's JSON Schema in the form Gemini's ``response_schema`` takes.
* ``openai`` / ``gemini``: client factories and error classification per SDK.
"""
