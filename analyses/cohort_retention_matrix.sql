-- Are new customers coming back? The retention triangle: per monthly sign-up cohort, the
-- share of the cohort active in month 0, 1, 2, ... after sign-up (set `share` to
-- 'ordering_share' for the share that ordered).
{%- set share = var('share', 'active_share') %}

with

cohorts as (
    select * from {{ ref('mart_signup_cohorts') }}
)

select
    cohort_month,
    max(cohort_customers) as cohort_customers,
    {%- for month in range(7) %}
    max({{ share }}) filter (where months_since_signup = {{ month }}) as month_{{ month }},
    {%- endfor %}
    max({{ share }}) filter (where months_since_signup > 6) as later_months_max
from cohorts
group by cohort_month
order by cohort_month
