-- Calendar days from dbt_date's date dimension, the columns the marts and analysts use.
-- Weeks are ISO weeks: they start on Monday (on PostgreSQL dbt_date numbers days ISO-wise).
with

calendar as (
    {{ dbt_date.get_date_dimension(var('calendar_start'), var('calendar_end')) }}
)

select
    date_day,
    day_of_week as day_of_week_iso,
    day_of_week_name,
    iso_week_start_date,
    iso_week_of_year,
    month_start_date,
    month_of_year,
    month_name,
    quarter_of_year,
    year_number,
    day_of_week in (6, 7) as is_weekend
from calendar
