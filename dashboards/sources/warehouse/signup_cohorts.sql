-- mart_signup_cohorts, with the cohort month as text (YYYY-MM) for the heat map's axis.
select
    to_char(cohort_month, 'YYYY-MM') as cohort,
    cohort_month,
    months_since_signup,
    activity_month,
    cohort_customers,
    active_customers,
    ordering_customers,
    active_share,
    ordering_share
from mart_signup_cohorts
