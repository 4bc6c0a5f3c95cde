{% macro epoch(column) -%}
    {{- return(adapter.dispatch('epoch', 'webshop')(column)) -}}
{%- endmacro %}


{% macro default__epoch(column) -%}
    {#- A timestamptz as seconds since 1970 (numeric): what hashes and surrogate keys
        use, because its text does not depend on the session's TimeZone or DateStyle. -#}
    extract(epoch from {{ column }})
{%- endmacro %}
