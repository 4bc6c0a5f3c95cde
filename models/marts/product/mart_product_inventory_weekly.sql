{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='week_start',
        post_hook="{{ delete_rows_outside('week_start', 'first_week', 'last_week', product_weeks_observed()) }}",
    )
}}

-- Incremental per week: the weeks from the earliest one a changed product version can
-- reach (versions_restart_week, which reads this table as it was) are recomputed from the
-- versions in force from that week's start on (a version's lag reads the one before it,
-- also in force then), and replace those weeks whole (delete+insert on week_start: every
-- week of the observed range has rows). A post-hook deletes the weeks the range lost.
{%- set since -%}
(select {{ utc_moment('restart.restart_week') }} from restart)
{%- endset %}

with

{% if is_incremental() -%}
restart as (
    {{ versions_restart_week(ref('dim_product'), 'product_id', 'product') }}
),
{%- endif %}

products as (
    select * from {{ ref('dim_product') }}
    where
        product_id != -1
        {%- if is_incremental() %}
        and valid_to >= {{ since }}
        {%- endif %}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

-- Every version with the stock and price of the version before it (SCD2 order).
versions as (
    select
        product_id,
        valid_from,
        valid_to,
        sku,
        product_name,
        category,
        price,
        stock_quantity,
        is_active,
        stock_quantity - lag(stock_quantity) over by_product as stock_change,
        lag(stock_quantity) over by_product as previous_stock_quantity,
        lag(price) over by_product as previous_price
    from products
    window by_product as (partition by product_id order by valid_from)
),

-- The warehouse sees stock from its first batch to the latest version (of every version).
observed as (
    {{ product_weeks_observed() }}
),

weeks as {{ cte_materialized() }} (
    select distinct
        calendar.iso_week_start_date as week_start,
        {{ utc_moment('calendar.iso_week_start_date') }} as week_start_at,
        {{ utc_moment('calendar.iso_week_start_date + 7') }} as week_end_at
    from calendar
    inner join observed
        on calendar.date_day between observed.first_date and observed.last_date
    {%- if is_incremental() %}
    where calendar.iso_week_start_date >= (select restart.restart_week from restart)
    {%- endif %}
),

-- Each version with the weeks it overlaps (and the week before the first one shown, for
-- the stock at its start): the joins below compare a product's versions with its weeks one
-- week at a time (on week_start, then the exact condition), not every version with every
-- week, which grew with the square of the history.
bounds as (
    select
        cast(min(week_start) as timestamp) - interval '7 days' as first_week_start,
        max(week_end_at) as last_week_end_at
    from weeks
),

version_weeks as (
    select
        versions.*,
        cast(overlapped.week_start as date) as week_start
    from versions
    cross join bounds
    cross join {{ weeks_between(
        "greatest(date_trunc('week', " ~ utc_clock('versions.valid_from') ~ "), bounds.first_week_start)",
        "date_trunc('week', " ~ utc_clock('least(versions.valid_to, bounds.last_week_end_at)') ~ ")",
        'overlapped', 'week_start'
    ) }}
),

product_starts as (
    select
        product_id,
        min(valid_from) as first_valid_from
    from versions
    group by product_id
),

product_weeks as (
    select
        weeks.week_start,
        weeks.week_start_at,
        weeks.week_end_at,
        product_starts.product_id
    from weeks
    inner join product_starts on weeks.week_end_at > product_starts.first_valid_from
),

-- Range of the versions in force at some moment of the week.
ranges as {{ cte_materialized() }} (
    select
        product_weeks.week_start,
        product_weeks.product_id,
        min(versions.stock_quantity) as min_stock_quantity,
        max(versions.stock_quantity) as max_stock_quantity
    from product_weeks
    inner join version_weeks as versions
        on
            product_weeks.product_id = versions.product_id
            and product_weeks.week_start = versions.week_start
            and product_weeks.week_end_at > versions.valid_from
            and product_weeks.week_start_at < versions.valid_to
    group by product_weeks.week_start, product_weeks.product_id
),

-- What changed during the week: the versions that came into force in it.
changes as {{ cte_materialized() }} (
    select
        product_weeks.week_start,
        product_weeks.product_id,
        count(*) filter (where versions.stock_change != 0) as stock_movements,
        coalesce(sum(abs(versions.stock_change)), 0) as units_moved,
        coalesce(bool_or(
            versions.stock_quantity <= 0 and versions.previous_stock_quantity > 0
        ), false) as went_out_of_stock,
        count(*) filter (where versions.price != versions.previous_price) as price_changes
    from product_weeks
    inner join version_weeks as versions
        on
            product_weeks.product_id = versions.product_id
            and product_weeks.week_start = versions.week_start
            and product_weeks.week_start_at <= versions.valid_from
            and product_weeks.week_end_at > versions.valid_from
    group by product_weeks.week_start, product_weeks.product_id
)

select
    product_weeks.week_start,
    product_weeks.product_id,
    at_end.sku,
    at_end.product_name,
    at_end.category,
    at_start.stock_quantity as stock_at_week_start,
    at_end.stock_quantity as stock_at_week_end,
    at_end.stock_quantity - at_start.stock_quantity as stock_change,
    ranges.min_stock_quantity,
    ranges.max_stock_quantity,
    coalesce(changes.stock_movements, 0) as stock_movements,
    coalesce(changes.units_moved, 0) as units_moved,
    coalesce(changes.went_out_of_stock, false) as went_out_of_stock,
    at_end.stock_quantity <= 0 as is_out_of_stock_at_week_end,
    at_start.price as price_at_week_start,
    at_end.price as price_at_week_end,
    coalesce(changes.price_changes, 0) as price_changes,
    at_end.is_active as is_active_at_week_end
from product_weeks
-- the version in force at the end of the week before (none if the product is newer)
left join version_weeks as at_start
    on
        product_weeks.product_id = at_start.product_id
        and product_weeks.week_start - 7 = at_start.week_start
        and product_weeks.week_start_at > at_start.valid_from
        and product_weeks.week_start_at <= at_start.valid_to
-- the version in force at the week's last moment (now, for the current week)
inner join version_weeks as at_end
    on
        product_weeks.product_id = at_end.product_id
        and product_weeks.week_start = at_end.week_start
        and product_weeks.week_end_at > at_end.valid_from
        and product_weeks.week_end_at <= at_end.valid_to
inner join ranges
    on
        product_weeks.week_start = ranges.week_start
        and product_weeks.product_id = ranges.product_id
left join changes
    on
        product_weeks.week_start = changes.week_start
        and product_weeks.product_id = changes.product_id
