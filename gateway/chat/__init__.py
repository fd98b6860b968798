"""Filter creation by conversation: POST /chat and POST /chat/image (docs/protocol.md §2.2).

``routes`` reads and checks requests; ``engine`` runs one turn of a conversation whose state lives in
Redis (``state``), answering either with a cloud model (``openai_chat``, ``gemini_chat``) or with the
offline rules (``offline``). ``reply`` defines what an answer is and checks a model's answer before
anyone trusts it.
"""
