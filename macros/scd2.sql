{% macro scd2_history(versions, key, version_id, source_table, reset_column=none) %}
    {#- SCD type 2 windows from a staged version history (columns: key, updated_at,
        created_at, _extracted_at, version_id). Versions are ordered by updated_at; of
        two versions with the same updated_at (a tie) the one delivered last wins, then
        the higher version id: the loser was never in force and gets no row.
        valid_from is updated_at, except for a key's first version, which is in force
        from created_at; valid_to is the next version's updated_at, or the open end.

        Incremental: only keys with versions this model has not read (raw table
        `source_table`, see is_unread) are recomputed,
        from the version in force just before their earliest new version (its valid_to
        moves) onwards. With incremental_strategy `replace_from` on updated_at, the old
        rows from that point are replaced, so an out-of-order version slots in between
        its neighbours exactly as a full refresh would place it. A key whose batch-moment
        column `reset_column` is unread (for customers: the account just closed, so every
        version lost its personal data) is recomputed whole. Each changed key's versions
        are read through the (key, updated_at) index from the one before the version in
        force (which tells whether that one is the key's first), not its whole history: a
        product's stock changes daily, so its history grows by a version a day. -#}
    with

    {% if is_incremental() -%}
    changed as (
        select
            {{ key }},
            {%- if reset_column %}
            min(case
                when {{ is_unread(reset_column, source_table) }} then {{ minus_infinity() }}
                else updated_at
            end) as changed_from
            {%- else %}
            min(updated_at) as changed_from
            {%- endif %}
        from {{ versions }}
        where
            {{ is_unread('_extracted_at', source_table) }}
            {%- if reset_column %}
            or {{ is_unread(reset_column, source_table) }}
            {%- endif %}
        group by {{ key }}
    ),

    in_force_before as (
        select
            changed.{{ key }},
            {{ latest_before(versions, key, 'updated_at', 'changed', 'changed.changed_from') }}
                as in_force_at
        from changed
    ),

    read_from as (
        select
            in_force_before.{{ key }},
            coalesce(
                {{ latest_before(
                    versions, key, 'updated_at', 'in_force_before', 'in_force_before.in_force_at'
                ) }},
                in_force_before.in_force_at,
                {{ minus_infinity() }}
            ) as read_from
        from in_force_before
    ),
    {%- endif %}

    ranked as (
        select
            versions.*,
            row_number() over (
                partition by versions.{{ key }}, versions.updated_at
                order by versions._extracted_at desc, versions.{{ version_id }} desc
            ) as tie_rank
        {%- if is_incremental() %}
        from read_from
        {{ lateral_rows(
            relation=versions, key=key, column='updated_at', since='read_from.read_from',
            outer='read_from', alias='versions'
        ) }}
        {%- else %}
        from {{ versions }} as versions
        {%- endif %}
    ),

    windowed as (
        select
            *,
            case
                when lag(updated_at) over by_key is null then least(created_at, updated_at)
                else updated_at
            end as valid_from,
            coalesce(lead(updated_at) over by_key, {{ open_end() }}) as valid_to
        from ranked
        where tie_rank = 1
        window by_key as (partition by {{ key }} order by updated_at)
    )

    select windowed.*
    from windowed
    {%- if is_incremental() %}
        inner join changed on windowed.{{ key }} = changed.{{ key }}
    where windowed.valid_to >= changed.changed_from
    {%- endif %}
{% endmacro %}


{% macro open_end() -%}
    {#- valid_to of a version still in force: a fixed sentinel, never null or now(). -#}
    cast('9999-12-31 00:00:00+00' as {{ type_timestamptz() }})
{%- endmacro %}


{% macro unknown_member_sk() -%}
    {#- Surrogate key of each dimension's unknown member, for facts whose natural key
        has no version in force (yet): fact foreign keys are never null. -#}
    '-1'
{%- endmacro %}
