"""PostgreSQL wire protocol server: psql, JDBC, ODBC, psycopg and BI tools read data products through
the governed query service."""
