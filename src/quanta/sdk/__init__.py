"""The Python SDK: the same methods in process (a local workspace) and remote (a ``quanta serve``).

import quanta
mesh = quanta.connect()                                     # the workspace around the notebook
mesh = quanta.connect("http://host:8000", token="qt_...")   # a server
mesh.search("revenue")
orders = mesh.product("sales.orders")
orders.schema, orders.contract, orders.to_pandas(limit=1000)
mesh.sql("select status, count(*) from sales.orders group by all")
"""

from quanta.sdk.client import Client, Product, connect

__all__ = ["Client", "Product", "connect"]
