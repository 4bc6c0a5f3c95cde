{% macro json_bigint(json_value, type='bigint', max_digits=18) %}
    {#- A JSON whole number, or a string holding one, as bigint (or `type`); null for
        anything else, so one odd value never fails a build. A JSON number is tested as
        numeric (no fraction, at most max_digits digits), which costs less than a regex
        over its text and accepts the same values. -#}
    case jsonb_typeof({{ json_value }})
        when 'number' then case
            when scale(({{ json_value }})::numeric) = 0
                and abs(({{ json_value }})::numeric) < 1e{{ max_digits }}
                then cast(({{ json_value }})::numeric as {{ type }})
        end
        when 'string' then case
            when trim({{ json_value }} #>> '{}') ~ '^-?[0-9]{1,{{ max_digits }}}$'
                then cast(trim({{ json_value }} #>> '{}') as {{ type }})
        end
    end
{% endmacro %}


{% macro reject_reason(table, relation='') %}
    {#- Why a raw row cannot be staged, or null when it can. Staging keeps the rows with
        a null reason; stg_webshop__quarantine keeps the others, so the two never drift.
        `relation` qualifies the raw columns; events must be joined with
        parse_event_document(). -#}
    {%- set raw = relation ~ '.' if relation else '' %}
    case
        when {{ raw }}id is null then 'missing id'
    {%- if table == 'event' %}
        when {{ raw }}event_timestamp is null then 'missing event_timestamp'
        when {{ raw }}event_timestamp > {{ raw }}_extracted_at
            then 'event_timestamp after its batch was extracted'
        when event_document.is_not_an_object and {{ try_jsonb(raw ~ 'event_data') }} is null
            then 'event_data is not valid JSON'
        when event_document.is_not_an_object then 'event_data is not a JSON object'
        when jsonb_typeof(event_document."customer-id") <> 'null'
            and {{ json_bigint('event_document."customer-id"') }} is null
            then 'customer-id is not an integer'
    {%- else %}
        when {{ raw }}updated_at is null then 'missing updated_at'
    {%- endif %}
    {%- if table == 'orders' %}
        when {{ raw }}customer_id is null then 'missing customer_id'
        when lower(trim({{ raw }}status)) not in (
            'placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'
        ) then 'unknown status'
    {%- elif table == 'order_line' %}
        when {{ raw }}order_id is null then 'missing order_id'
        when {{ raw }}product_id is null then 'missing product_id'
    {%- endif %}
    end
{% endmacro %}


{% macro parse_event_document(event_data) %}
    {#- A lateral join that parses the tracker's JSON document once per row (in parallel
        workers, unlike a fenced subquery) into the keys the contract documents, as columns
        of `event_document`; `is_not_an_object` is true when the text is not a valid JSON
        object (then every other column is null). -#}
    cross join lateral jsonb_to_record(
        coalesce(
            {{ adapter.quote(target.schema) }}.try_json_object({{ event_data }}),
            '{"is_not_an_object": true}'
        )
    ) as event_document (
        "customer-id" jsonb,
        "user-agent" text,
        ip text,
        page text,
        referrer text,
        product jsonb,
        quantity jsonb,
        query text,
        "position" jsonb,
        is_not_an_object boolean
    )
{% endmacro %}


{% macro try_jsonb(text_expression) -%}
    {#- The JSON document in a text, or null when it is not valid JSON (see create_functions). -#}
    {{ adapter.quote(target.schema) }}.try_jsonb({{ text_expression }})
{%- endmacro %}
