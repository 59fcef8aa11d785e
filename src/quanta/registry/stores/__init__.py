"""The registry's stores: tables and queries of one area each, mixed into ``Registry``."""
