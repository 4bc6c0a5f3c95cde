{% macro join_session_events(sessions) %}
    {#- Joins each session of `sessions` (customer_id, session_start, session_end) to its
        events in fct_events, as `events`: a lateral lookup per session through the
        (customer_id, event_at) index, for marts that read the events of a few sessions
        (`offset 0` keeps PostgreSQL from flattening it into a join over every event). -#}
    cross join lateral (
        select session_events.*
        from {{ ref('fct_events') }} as session_events
        where
            session_events.customer_id = {{ sessions }}.customer_id
            and session_events.event_at
            between {{ sessions }}.session_start and {{ sessions }}.session_end
        offset 0
    ) as events
{% endmacro %}


{% macro first_sessions_with_new_events(events, since=none) %}
    {#- Per customer, the start of the first session holding an event this incremental
        model has not seen (new, late, or merged by a late event: the merged session
        holds the late event), as restart_at; `events` has session_start and
        _extracted_at. `since` is the model's watermark() when it has it already. -#}
    select
        customer_id,
        min(session_start) as restart_at
    from {{ events }}
    where _extracted_at >= {{ since or watermark() }}
    group by customer_id
{% endmacro %}
