{% macro json_bigint(json_value, type='bigint', max_digits=18) %}
    {#- A JSON whole number, or a string holding one, as bigint (or `type`); null for
        anything else, so one odd value never fails a build. -#}
    case
        when jsonb_typeof({{ json_value }}) in ('number', 'string')
            and trim({{ json_value }} #>> '{}') ~ '^-?[0-9]{1,{{ max_digits }}}$'
            then cast(trim({{ json_value }} #>> '{}') as {{ type }})
    end
{% endmacro %}


{% macro reject_reason(table, event_document='event_document') %}
    {#- Why a raw row cannot be staged, or null when it can. Staging keeps the rows with
        a null reason; stg_webshop__quarantine keeps the others, so the two never drift.
        Events need their parsed document (`try_jsonb(event_data)`) in column `event_document`. -#}
    case
        when id is null then 'missing id'
    {%- if table == 'event' %}
        when event_timestamp is null then 'missing event_timestamp'
        when event_timestamp > _extracted_at then 'event_timestamp after its batch was extracted'
        when {{ event_document }} is null then 'event_data is not valid JSON'
        when jsonb_typeof({{ event_document }}) <> 'object'
            then 'event_data is not a JSON object'
        when jsonb_typeof({{ event_document }} -> 'customer-id') <> 'null'
            and {{ json_bigint(event_document ~ " -> 'customer-id'") }} is null
            then 'customer-id is not an integer'
    {%- else %}
        when updated_at is null then 'missing updated_at'
    {%- endif %}
    {%- if table == 'orders' %}
        when customer_id is null then 'missing customer_id'
        when lower(trim(status)) not in (
            'placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'
        ) then 'unknown status'
    {%- elif table == 'order_line' %}
        when order_id is null then 'missing order_id'
        when product_id is null then 'missing product_id'
    {%- endif %}
    end
{% endmacro %}


{% macro try_jsonb(text_expression) -%}
    {#- The JSON document in a text, or null when it is not valid JSON (see create_functions). -#}
    {{ adapter.quote(target.schema) }}.try_jsonb({{ text_expression }})
{%- endmacro %}
