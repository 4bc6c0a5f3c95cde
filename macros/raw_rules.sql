{#- The rules for raw rows, written once. Staging keeps a raw row only when no rule
    rejects it; stg_webshop__quarantine keeps the others with the reason of the first rule
    that rejects them; the reconciliation test counts both. Every value that could fail a
    data test or an arithmetic operation downstream is rejected here. The same list is
    documented in models/staging/webshop/_webshop__docs.md (a test compares the two). -#}

{% macro raw_columns(table) %}
    {#- The columns of each raw table (the raw contract), `_extracted_at` left out. -#}
    {%- set columns = {
        'customer': ['id', 'first_name', 'last_name', 'email', 'phone', 'street', 'postal_code',
                     'city', 'country_code', 'created_at', 'updated_at', 'deleted_at'],
        'product': ['id', 'sku', 'name', 'category', 'price', 'stock_quantity', 'is_active',
                    'created_at', 'updated_at'],
        'voucher': ['id', 'code', 'discount_type', 'discount_value', 'valid_from', 'valid_until',
                    'created_at', 'updated_at'],
        'orders': ['id', 'customer_id', 'voucher_id', 'status', 'created_at', 'updated_at'],
        'order_line': ['id', 'order_id', 'product_id', 'quantity', 'unit_price', 'discount_amount',
                       'created_at', 'updated_at'],
        'event': ['id', 'event_type', 'event_timestamp', 'event_data'],
    } -%}
    {{ return(columns[table]) }}
{% endmacro %}


{% macro personal_data_columns_of(table) %}
    {#- The raw columns that hold personal data (the contract's; event_data holds the
        visitor's ip and user-agent). -#}
    {%- set columns = {
        'customer': ['first_name', 'last_name', 'email', 'phone', 'street'],
        'event': ['event_data'],
    } -%}
    {{ return(columns.get(table, [])) }}
{% endmacro %}


{% macro raw_content_hash(table, relation='', erase_when='false', document=none) %}
    {#- Hash of a raw row's content as the warehouse keeps it (every column but
        `_extracted_at`): customers' personal columns count as null when `erase_when` (SQL)
        holds, an event's document without its ip and user-agent (erased_event_data; give
        `document`, the parsed object, when there is one). So scrubbing raw
        (`webshop scrub-closed-accounts`) never changes a hash. Staging's version ids and
        event content ids, the quarantine's row ids and the reconciliation test use it. -#}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- set values = [] -%}
    {%- for column in raw_columns(table) -%}
        {%- if column.endswith('_at') or column in ('event_timestamp', 'valid_from', 'valid_until') -%}
            {%- do values.append(epoch(prefix ~ column)) -%}
        {%- elif table == 'event' and column == 'event_data' -%}
            {%- do values.append(erased_event_data(prefix ~ column, document)) -%}
        {%- elif column in personal_data_columns_of(table) -%}
            {%- do values.append('case when not (' ~ erase_when ~ ') then ' ~ prefix ~ column ~ ' end') -%}
        {%- else -%}
            {%- do values.append(prefix ~ column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ content_hash(values) }}
{% endmacro %}


{% macro erased_event_data(event_data, document=none) %}
    {{- return(adapter.dispatch('erased_event_data', 'webshop')(event_data, document)) -}}
{% endmacro %}


{% macro default__erased_event_data(event_data, document=none) %}
    {#- An event's document without the visitor's ip and user-agent: the parsed object
        minus those keys, or, for text that is no JSON object, the text with their values
        replaced by null. The warehouse keeps nothing else of them, and the raw scrub leaves
        this unchanged. -#}
    {%- set without_values = "regexp_replace(" ~ event_data
        ~ ", '\"(ip|user-agent)\"\\s*:\\s*(\"(\\\\.|[^\"\\\\])*\"|null)', '\"\\1\": null', 'g')" -%}
    {%- if document -%}
        coalesce(cast({{ document }} - cast('{ip,user-agent}' as text[]) as text), {{ without_values }})
    {%- else -%}
        {{ without_values }}
    {%- endif -%}
{% endmacro %}


{% macro documented_event_types() %}
    {{ return([
        'PAGE_VIEW', 'ADD_PRODUCT_TO_CART', 'REMOVE_PRODUCT_FROM_CART', 'SIGN_UP_SUCCESS',
        'VISIT_RELATED_PRODUCT', 'VISIT_RECENTLY_VISITED_PRODUCT',
        'VISIT_PERSONAL_RECOMMENDATION', 'SEARCH',
    ]) }}
{% endmacro %}


{% macro order_statuses() %}
    {{ return(['placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned']) }}
{% endmacro %}


{% macro calendar_start_at() -%}
    cast('{{ var("calendar_start") }} 00:00:00+00' as {{ type_timestamptz() }})
{%- endmacro %}


{% macro calendar_end_at() -%}
    {#- The first moment after the calendar's last day. -#}
    {%- set last_day = modules.datetime.date.fromisoformat(var("calendar_end") | string) -%}
    cast('{{ last_day + modules.datetime.timedelta(days=1) }} 00:00:00+00' as {{ type_timestamptz() }})
{%- endmacro %}


{% macro raw_rules(table, relation='') %}
    {#- The rules of `table` in the order they are checked: each a dict with `reason` (the
        text in stg_webshop__quarantine.reject_reason), `rejects` (SQL, true when the rule
        rejects the row; it may assume every earlier rule passed) and `uses_batch_moment`
        (the rule compares the row with its batch moment, so the same content can pass in
        one delivery and fail in another). Events must be joined with parse_event_document(). -#}
    {%- set r = relation ~ '.' if relation else '' -%}
    {%- set start = calendar_start_at() -%}
    {%- set max_quantity = var('max_quantity') -%}
    {%- set max_price = var('max_unit_price') -%}
    {%- set rules = [
        {'reason': 'missing id', 'rejects': r ~ 'id is null'},
        {'reason': 'id is not positive', 'rejects': r ~ 'id <= 0'},
        {'reason': 'batch moment outside the calendar', 'uses_batch_moment': true,
         'rejects': r ~ '_extracted_at < ' ~ start},
        {'reason': 'batch moment outside the calendar', 'uses_batch_moment': true,
         'rejects': r ~ '_extracted_at >= ' ~ calendar_end_at()},
    ] -%}

    {%- if table == 'event' -%}
        {%- set document = 'event_json.document' -%}
        {%- set event_type = 'event_value.event_type' -%}
        {%- set is_documented = event_type ~ " in ('" ~ documented_event_types() | join("', '") ~ "')" -%}
        {%- set is_cart_event = event_type ~ " in ('ADD_PRODUCT_TO_CART', 'REMOVE_PRODUCT_FROM_CART')" -%}
        {%- set keys = ['user-agent', 'ip', 'customer-id', 'page', 'referrer', 'product', 'quantity', 'query', 'position'] -%}
        {%- set customer_id = 'event_value.customer_id' -%}
        {%- set product = 'event_value.product_id' -%}
        {%- set quantity = 'event_value.quantity' -%}
        {%- set position = 'event_value.list_position' -%}
        {%- set max_length = var('max_event_data_length') -%}
        {%- do rules.extend([
            {'reason': 'missing event_type', 'rejects': "nullif(" ~ event_type ~ ", '') is null"},
            {'reason': 'missing event_timestamp', 'rejects': r ~ 'event_timestamp is null'},
            {'reason': 'event_timestamp before the calendar start', 'rejects': r ~ 'event_timestamp < ' ~ start},
            {'reason': 'event_timestamp after its batch was extracted', 'uses_batch_moment': true,
             'rejects': r ~ 'event_timestamp > ' ~ r ~ '_extracted_at'},
            {'reason': 'missing event_data', 'rejects': r ~ 'event_data is null'},
            {'reason': 'event_data longer than ' ~ max_length ~ ' characters',
             'rejects': 'length(' ~ r ~ 'event_data) > ' ~ max_length},
            {'reason': 'event_data is not valid JSON',
             'rejects': document ~ ' is null and ' ~ try_jsonb(r ~ 'event_data') ~ ' is null'},
            {'reason': 'event_data is not a JSON object', 'rejects': document ~ ' is null'},
            {'reason': 'event_data has keys the contract does not define',
             'rejects': is_documented ~ ' and ' ~ has_keys_outside(document, r ~ 'event_data', keys)},
            {'reason': 'customer-id is not an integer',
             'rejects': json_is_set(event_key('customer-id')) ~ ' and ' ~ customer_id ~ ' is null'},
            {'reason': 'customer-id is not positive', 'rejects': customer_id ~ ' <= 0'},
            {'reason': 'product is not a positive integer',
             'rejects': json_is_set(event_key('product')) ~ ' and coalesce(' ~ product ~ ' <= 0, true)'},
            {'reason': 'quantity is not a whole number',
             'rejects': json_is_set(event_key('quantity')) ~ ' and ' ~ quantity ~ ' is null'},
            {'reason': 'quantity is not positive', 'rejects': quantity ~ ' <= 0'},
            {'reason': 'quantity above the maximum', 'rejects': quantity ~ ' > ' ~ max_quantity},
            {'reason': 'position is not a whole number',
             'rejects': json_is_set(event_key('position')) ~ ' and ' ~ position ~ ' is null'},
            {'reason': 'position is negative', 'rejects': position ~ ' < 0'},
            {'reason': 'position above 2147483647', 'rejects': position ~ ' > 2147483647'},
            {'reason': 'cart event without product',
             'rejects': is_cart_event ~ ' and not ' ~ json_is_set(event_key('product'))},
            {'reason': 'cart event without quantity',
             'rejects': is_cart_event ~ ' and not ' ~ json_is_set(event_key('quantity'))},
        ]) -%}
    {%- else -%}
        {%- do rules.extend([
            {'reason': 'missing created_at', 'rejects': r ~ 'created_at is null'},
            {'reason': 'created_at before the calendar start', 'rejects': r ~ 'created_at < ' ~ start},
            {'reason': 'created_at after its batch was extracted', 'uses_batch_moment': true,
             'rejects': r ~ 'created_at > ' ~ r ~ '_extracted_at'},
            {'reason': 'missing updated_at', 'rejects': r ~ 'updated_at is null'},
            {'reason': 'updated_at before created_at', 'rejects': r ~ 'updated_at < ' ~ r ~ 'created_at'},
            {'reason': 'updated_at after its batch was extracted', 'uses_batch_moment': true,
             'rejects': r ~ 'updated_at > ' ~ r ~ '_extracted_at'},
        ]) -%}
    {%- endif -%}

    {%- if table == 'product' -%}
        {%- do rules.extend([
            {'reason': 'missing price', 'rejects': r ~ 'price is null'},
            {'reason': 'price is negative', 'rejects': r ~ 'price < 0'},
            {'reason': 'price above the maximum', 'rejects': r ~ 'price > ' ~ max_price},
        ]) -%}
    {%- elif table == 'orders' -%}
        {%- set status = 'lower(' ~ unicode_trim(r ~ 'status') ~ ')' -%}
        {%- do rules.extend([
            {'reason': 'missing customer_id', 'rejects': r ~ 'customer_id is null'},
            {'reason': 'customer_id is not positive', 'rejects': r ~ 'customer_id <= 0'},
            {'reason': 'voucher_id is not positive', 'rejects': r ~ 'voucher_id <= 0'},
            {'reason': 'missing status', 'rejects': clean_text(r ~ 'status') ~ ' is null'},
            {'reason': 'unknown status',
             'rejects': status ~ " not in ('" ~ order_statuses() | join("', '") ~ "')"},
        ]) -%}
    {%- elif table == 'order_line' -%}
        {%- do rules.extend([
            {'reason': 'missing order_id', 'rejects': r ~ 'order_id is null'},
            {'reason': 'order_id is not positive', 'rejects': r ~ 'order_id <= 0'},
            {'reason': 'missing product_id', 'rejects': r ~ 'product_id is null'},
            {'reason': 'product_id is not positive', 'rejects': r ~ 'product_id <= 0'},
            {'reason': 'missing quantity', 'rejects': r ~ 'quantity is null'},
            {'reason': 'quantity is not positive', 'rejects': r ~ 'quantity <= 0'},
            {'reason': 'quantity above the maximum', 'rejects': r ~ 'quantity > ' ~ max_quantity},
            {'reason': 'missing unit_price', 'rejects': r ~ 'unit_price is null'},
            {'reason': 'unit_price is negative', 'rejects': r ~ 'unit_price < 0'},
            {'reason': 'unit_price above the maximum', 'rejects': r ~ 'unit_price > ' ~ max_price},
            {'reason': 'missing discount_amount', 'rejects': r ~ 'discount_amount is null'},
            {'reason': 'discount_amount is negative', 'rejects': r ~ 'discount_amount < 0'},
            {'reason': "discount_amount above the line's gross amount",
             'rejects': r ~ 'discount_amount > ' ~ r ~ 'quantity * ' ~ r ~ 'unit_price'},
        ]) -%}
    {%- endif -%}
    {{ return(rules) }}
{% endmacro %}


{% macro reject_reason(table, relation='') %}
    {#- Why a raw row cannot be staged (the first rule of raw_rules() that rejects it), or
        null when it can. A CASE checks its branches in order, so each rule may assume the
        earlier ones passed (a quantity is known before it is multiplied). -#}
    case
    {%- for rule in raw_rules(table, relation) %}
        when {{ rule.rejects }} then '{{ rule.reason | replace("'", "''") }}'
    {%- endfor %}
    end
{% endmacro %}


{% macro fails_batch_moment_rule(table, relation='') %}
    {#- True when a rule that compares the row with its batch moment rejects it: the
        same content can be staged from one delivery and rejected in another. Null only
        for a row that a rule about a missing value rejects anyway. -#}
    (
    {%- for rule in raw_rules(table, relation) if rule.get('uses_batch_moment') %}
        {% if not loop.first %}or {% endif %}{{ rule.rejects }}
    {%- endfor %}
    )
{% endmacro %}


{% macro status_can_follow(previous_status, status) %}
    {#- Whether an order can move from `previous_status` to `status` (or stay): forward
        through placed, paid, shipped, delivered, returned; cancelled only before shipping.
        True when there is no previous status. -#}
    coalesce(case {{ previous_status }}
        when 'placed' then true
        when 'paid' then {{ status }} <> 'placed'
        when 'shipped' then {{ status }} in ('shipped', 'delivered', 'returned')
        when 'delivered' then {{ status }} in ('delivered', 'returned')
        when 'returned' then {{ status }} = 'returned'
        when 'cancelled' then {{ status }} = 'cancelled'
    end, true)
{% endmacro %}


{% macro print_raw_rules() %}
    {#- `dbt run-operation print_raw_rules`: every raw rule as JSON lines (table, reason), for
        the test that keeps the docs' table of rules equal to this macro. -#}
    {%- for table in ['customer', 'product', 'voucher', 'orders', 'order_line', 'event'] -%}
        {%- for rule in raw_rules(table) -%}
            {{ print(tojson({'table': table, 'reason': rule.reason})) }}
        {%- endfor -%}
    {%- endfor -%}
{% endmacro %}


{% macro quarantine_content_id(table, relation) %}
    {#- The content a rejected raw row is kept by in stg_webshop__quarantine: its hash
        without personal data (events must be joined with parse_event_document()). -#}
    {%- if table == 'event' -%}
        {{ raw_content_hash(table, relation, document='event_json.document') }}
    {%- else -%}
        {{ raw_content_hash(table, relation, erase_when='true') }}
    {%- endif -%}
{% endmacro %}


{% macro quarantine_source_row(table, relation) %}
    {{- return(adapter.dispatch('quarantine_source_row', 'webshop')(table, relation)) -}}
{% endmacro %}


{% macro default__quarantine_source_row(table, relation) %}
    {#- A rejected raw row as JSON, without `_extracted_at` and without personal data: a
        customer row without names, e-mail, phone and street, an event's document without ip
        and user-agent (events must be joined with parse_event_document()). -#}
    {%- if table == 'event' -%}
        jsonb_set(
            to_jsonb({{ relation }}) - '_extracted_at',
            '{event_data}',
            -- JSON null for a missing document (jsonb_set of SQL null is null)
            coalesce(
                to_jsonb({{ erased_event_data(relation ~ '.event_data', 'event_json.document') }}),
                'null'
            )
        )
    {%- else -%}
        to_jsonb({{ relation }}) - '_extracted_at'
        {%- for column in personal_data_columns_of(table) %} - '{{ column }}'{% endfor %}
    {%- endif -%}
{% endmacro %}


{% macro has_keys_outside(document, event_data, keys) -%}
    {#- The JSON object `document` (parsed from the text `event_data`) has a key not in `keys`. -#}
    {{- return(adapter.dispatch('has_keys_outside', 'webshop')(document, event_data, keys)) -}}
{%- endmacro %}


{% macro default__has_keys_outside(document, event_data, keys) -%}
    {{ document }} - cast('{{ '{' ~ keys | join(',') ~ '}' }}' as text[]) <> cast('{}' as jsonb)
{%- endmacro %}
