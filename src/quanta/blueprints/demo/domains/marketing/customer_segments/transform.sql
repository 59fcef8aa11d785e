with spend as (
    select
        customer_id,
        count(*)         as order_count,
        sum(total_price) as lifetime_value,
        max(order_date)  as last_order_date
    from orders
    group by customer_id
)
select
    c.customer_id,
    c.market_segment,
    coalesce(s.order_count, 0)    as order_count,
    coalesce(s.lifetime_value, 0) as lifetime_value,
    s.last_order_date,
    case
        when s.lifetime_value >= 1000000 then 'platinum'
        when s.lifetime_value >= 500000 then 'gold'
        when s.lifetime_value > 0 then 'silver'
        else 'inactive'
    end as tier
from customers as c
left join spend as s on s.customer_id = c.customer_id
