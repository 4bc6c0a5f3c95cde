{{ config(materialized='incremental', incremental_strategy='append') }}

-- Calendar days from dbt_date's date dimension, the columns the marts and analysts use.
-- Weeks are ISO weeks: they start on Monday, day 1 (on every engine: see spark__day_of_week).
-- Incremental so that a daily run does not rebuild a fixed calendar: it appends the days
-- a later calendar_end adds (an earlier calendar_start needs --full-refresh).
with

calendar as (
    {{ dbt_date.get_date_dimension(var('calendar_start'), var('calendar_end')) }}
)

select
    date_day,
    {{ dbt_date.day_of_week('date_day', isoweek=true) }} as day_of_week_iso,
    day_of_week_name,
    iso_week_start_date,
    iso_week_of_year,
    month_start_date,
    month_of_year,
    month_name,
    quarter_of_year,
    year_number,
    {{ dbt_date.day_of_week('date_day', isoweek=true) }} in (6, 7) as is_weekend
from calendar
{%- if is_incremental() %}
where date_day > (select max(loaded.date_day) from {{ this }} as loaded)
{%- endif %}
