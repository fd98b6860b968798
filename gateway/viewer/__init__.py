"""The demo viewer: see the system work in a browser, with no extension installed.

``GET /viewer`` serves one page (``page.html``) that manages a user's filters through the
public API, moderates a bundled or pasted Reddit/X feed through ``POST /get_feed``, renders the
original and the moderated feed side by side the way the extension renders the markers, and swaps
deferred images live as the notifier announces them (``static/diymod-client.js``). Beside it, a
status panel for operators reads ``GET /viewer/status``.

Modules: :mod:`.pages` (page, config, static assets), :mod:`.samples` (sample feeds whose images
are served by the gateway itself, so the demo never touches a public host), :mod:`.status`
(sockets, queues, event rates from the processes' metrics).
"""
