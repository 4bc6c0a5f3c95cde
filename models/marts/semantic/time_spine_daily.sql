{{ config(materialized='view') }}

-- The daily time spine the semantic layer (MetricFlow) joins metrics to: dim_date's days.
with

calendar as (
    select * from {{ ref('dim_date') }}
)

select date_day
from calendar
