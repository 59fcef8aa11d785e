select * from raw
