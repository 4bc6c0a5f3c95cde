-- A sign-up cohort is fixed when its month ends: over the months since sign-up its size
-- never grows, and no month counts more active or ordering customers than the cohort
-- holds. Returns the cohort-months that break this.
with

cohorts as (
    select * from {{ ref('mart_signup_cohorts') }}
),

compared as (
    select
        cohort_month,
        months_since_signup,
        cohort_customers,
        active_customers,
        ordering_customers,
        lag(cohort_customers) over (
            partition by cohort_month order by months_since_signup
        ) as previous_cohort_customers
    from cohorts
)

select
    cohort_month,
    months_since_signup,
    cohort_customers,
    previous_cohort_customers,
    active_customers,
    ordering_customers
from compared
where
    cohort_customers > previous_cohort_customers
    or active_customers > cohort_customers
    or ordering_customers > cohort_customers
