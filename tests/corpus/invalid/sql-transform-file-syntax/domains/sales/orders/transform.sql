select
  order_id,
  sum(amount as total
from raw
group by order_id
