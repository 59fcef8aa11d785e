"""The Arrow Flight SQL server: product data as Arrow record batches over gRPC, through the governed
query service (``quanta flight``, ``quanta serve --flight-port``)."""
