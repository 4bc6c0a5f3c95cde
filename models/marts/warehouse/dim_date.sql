-- Calendar days from dbt_date's date dimension; weeks are ISO weeks (Monday).
{{ dbt_date.get_date_dimension(var('calendar_start'), var('calendar_end')) }}
