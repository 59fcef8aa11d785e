"""Maturity: how far consumers can trust a product, scored with the DATSIS model (``scoring``) from
criteria in one module per dimension, judged on the facts the facade gathers (``facts``)."""
