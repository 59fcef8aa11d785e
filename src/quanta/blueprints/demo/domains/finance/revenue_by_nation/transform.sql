-- TPC-H Q5 (local supplier volume) for every region and year.
select
    g.nation,
    g.region,
    cast(extract(year from o.order_date) as integer)  as order_year,
    sum(l.extended_price * (1 - l.discount))          as revenue,
    count(distinct o.order_id)                        as order_count
from lineitems as l
join orders    as o on l.order_id = o.order_id
join customers as c on o.customer_id = c.customer_id
join suppliers as s on l.supplier_id = s.supplier_id and c.nation_key = s.nation_key
join geography as g on s.nation_key = g.nation_key
group by g.nation, g.region, order_year
