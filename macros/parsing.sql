{% macro json_bigint(json_value, type='bigint', max_digits=18) %}
    {{- return(adapter.dispatch('json_bigint', 'webshop')(json_value, type, max_digits)) -}}
{% endmacro %}


{% macro default__json_bigint(json_value, type='bigint', max_digits=18) %}
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
            when {{ unicode_trim(json_value ~ " #>> '{}'") }} ~ '^-?[0-9]{1,{{ max_digits }}}$'
                then cast({{ unicode_trim(json_value ~ " #>> '{}'") }} as {{ type }})
        end
    end
{% endmacro %}


{% macro json_is_set(json_value) -%}
    {{- return(adapter.dispatch('json_is_set', 'webshop')(json_value)) -}}
{%- endmacro %}


{% macro default__json_is_set(json_value) -%}
    {#- The key is in the document with a value other than JSON null. -#}
    coalesce(jsonb_typeof({{ json_value }}) <> 'null', false)
{%- endmacro %}


{% macro parse_event_document(relation) %}
    {{- return(adapter.dispatch('parse_event_document', 'webshop')(relation)) -}}
{% endmacro %}


{% macro default__parse_event_document(relation) %}
    {#- Lateral joins that parse the tracker's JSON document of each row of `relation` (a raw
        event) once (in parallel workers, unlike a fenced subquery): `event_json.document`
        is the document when the text is a valid JSON object of at most
        var('max_event_data_length') characters (else null), and the contract's keys are
        columns of `event_document` (null when absent). The document is never expanded into
        a column the parser adds itself, so a key of any name cannot collide with one.
        `event_value` holds the values the raw rules and staging read several times, each
        computed once per row (an expression repeated in a CASE is evaluated each time):
        `event_type` trimmed and in upper case, and `customer_id`, `product_id`, `quantity`
        and `list_position` as bigint (json_bigint(): null when absent or not a whole
        number). -#}
    cross join lateral unnest(
        array[{{ adapter.quote(target.schema) }}.try_json_object({{ relation }}.event_data)]
    ) as event_json (document)
    cross join lateral jsonb_to_record(coalesce(event_json.document, '{}')) as event_document (
        "customer-id" jsonb,
        "user-agent" text,
        ip text,
        page text,
        referrer text,
        product jsonb,
        quantity jsonb,
        query text,
        "position" jsonb
    )
    cross join lateral unnest(array[row(
        upper({{ unicode_trim(relation ~ '.event_type') }}),
        {{ json_bigint(event_key('customer-id')) | indent(4) }},
        {{ json_bigint(event_key('product')) | indent(4) }},
        {{ json_bigint(event_key('quantity')) | indent(4) }},
        {{ json_bigint(event_key('position')) | indent(4) }}
    )]) as event_value (
        event_type text, customer_id bigint, product_id bigint, quantity bigint, list_position bigint
    )
{% endmacro %}


{% macro try_jsonb(text_expression) -%}
    {{- return(adapter.dispatch('try_jsonb', 'webshop')(text_expression)) -}}
{%- endmacro %}


{% macro default__try_jsonb(text_expression) -%}
    {#- The JSON document in a text, or null when it is not valid JSON (see create_functions). -#}
    {{ adapter.quote(target.schema) }}.try_jsonb({{ text_expression }})
{%- endmacro %}


{% macro unicode_trim(text_expression) -%}
    {{- return(adapter.dispatch('unicode_trim', 'webshop')(text_expression)) -}}
{%- endmacro %}


{% macro default__unicode_trim(text_expression) -%}
    {#- A text without leading and trailing white space of any kind: ASCII, the
        no-break spaces, the Unicode space separators, line and paragraph separators and
        the byte-order mark (trim() removes only the ASCII space); see create_functions. -#}
    {{ adapter.quote(target.schema) }}.unicode_trim({{ text_expression }})
{%- endmacro %}


{% macro unicode_whitespace() -%}
    {#- Every character Unicode calls white space, and U+200B and U+FEFF, as one text. -#}
    E' \t\n\r\f\x0B' || U&'\0085\00A0\1680\180E\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\200B\2028\2029\202F\205F\3000\FEFF'
{%- endmacro %}


{% macro clean_text(text_expression) -%}
    {#- Free text as the warehouse keeps it: trimmed of all white space, null when empty. -#}
    nullif({{ unicode_trim(text_expression) }}, '')
{%- endmacro %}


{% macro content_hash(expressions) -%}
    {#- A hash of the values themselves: each value is one element of a JSON array, so no
        two different lists of values give the same text (dbt_utils' surrogate key joins
        them with '-', so ('a-b', 'c') and ('a', 'b-c') collide). Timestamps go in as
        epoch seconds (see epoch()), so the hash does not depend on the session's TimeZone. -#}
    {{ dbt.hash(values_as_text(expressions)) }}
{%- endmacro %}


{% macro values_as_text(expressions) -%}
    {#- The values as one text that tells every list of values apart. -#}
    {{- return(adapter.dispatch('values_as_text', 'webshop')(expressions)) -}}
{%- endmacro %}


{% macro default__values_as_text(expressions) -%}
    cast(json_build_array(
        {{ expressions | join(",\n        ") }}
    ) as text)
{%- endmacro %}


{% macro json_is_string(json_value) -%}
    {#- The key holds a JSON string. -#}
    {{- return(adapter.dispatch('json_is_string', 'webshop')(json_value)) -}}
{%- endmacro %}


{% macro default__json_is_string(json_value) -%}
    jsonb_typeof({{ json_value }}) = 'string'
{%- endmacro %}


{% macro event_key(key) -%}
    {#- A key of the tracker's document as a column of parse_event_document()'s `event_document`. -#}
    event_document.{{ adapter.quote(key) }}
{%- endmacro %}
