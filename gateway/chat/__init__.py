"""Filter creation by conversation: POST /chat and POST /chat/image (contract 2.9, 2.10; issue 6).

``routes`` reads and checks requests; ``engine`` runs one turn of a conversation whose state lives in
Redis (``state``), answering either with a cloud model (``openai_chat``, ``gemini_chat``) or with the
offline rules (``offline``). ``reply`` defines what an answer is and checks a model's answer before
anyone trusts it.
"""
