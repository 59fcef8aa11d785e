"""The MCP server: AI agents as governed consumers, each acting as the principal its token names.

Over stdio (``quanta mcp``, the token from ``QUANTA_TOKEN``) and streamable HTTP (``/mcp`` in
``quanta serve``, a bearer token per request). Tools and resources answer through the ``Mesh`` facade
only; every data read goes through the governed query path (masks, row filters, audit).
"""
