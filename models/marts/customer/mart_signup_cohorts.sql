with

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current and customer_id != -1
),

engagement as (
    select * from {{ ref('mart_customer_monthly_engagement') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_customers
    from customers
    group by cohort_month
),

-- Only months the warehouse has activity for: before its first batch nobody can be
-- seen active, so those months would read as churn that never happened.
bounds as (
    select
        min(activity_month) as first_month,
        max(activity_month) as last_month
    from engagement
),

observed_months as (
    select distinct calendar.month_start_date as activity_month
    from calendar
    inner join bounds on calendar.date_day between bounds.first_month and bounds.last_month
),

cohort_activity as (
    select
        cohort_month,
        activity_month,
        count(*) filter (where sessions > 0 or orders > 0) as active_customers,
        count(*) filter (where orders > 0) as ordering_customers
    from engagement
    where cohort_month is not null
    group by cohort_month, activity_month
),

grid as (
    select
        cohorts.cohort_month,
        observed_months.activity_month,
        cohorts.cohort_customers
    from cohorts
    inner join observed_months on cohorts.cohort_month <= observed_months.activity_month
)

select
    grid.cohort_month,
    cast(
        12 * (extract(year from grid.activity_month) - extract(year from grid.cohort_month))
        + extract(month from grid.activity_month) - extract(month from grid.cohort_month)
        as integer
    ) as months_since_signup,
    grid.activity_month,
    grid.cohort_customers,
    coalesce(cohort_activity.active_customers, 0) as active_customers,
    coalesce(cohort_activity.ordering_customers, 0) as ordering_customers,
    cast(
        1.0 * coalesce(cohort_activity.active_customers, 0) / grid.cohort_customers
        as numeric(5, 4)
    ) as active_share,
    cast(
        1.0 * coalesce(cohort_activity.ordering_customers, 0) / grid.cohort_customers
        as numeric(5, 4)
    ) as ordering_share
from grid
left join cohort_activity
    on
        grid.cohort_month = cohort_activity.cohort_month
        and grid.activity_month = cohort_activity.activity_month
