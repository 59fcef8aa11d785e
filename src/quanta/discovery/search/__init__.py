"""Marketplace search: the algorithm and its index interface (``index``), documents (``documents``), the
query language, counting, and the SQLite and PostgreSQL backends."""
