{#- Portable SQL, arrays (DuckDB lists, Spark arrays): literals, membership, filtering,
    slicing and one row per element. `default__` is the DuckDB SQL; `spark__` Spark's.
    Arguments are SQL expressions; `values` is a Python list of SQL expressions. -#}

{#- An array of the given SQL expressions: [a, b] on DuckDB, array(a, b) on Spark. -#}
{% macro array_of(values) -%}
    {{ return(adapter.dispatch('array_of', 'carejourney')(values)) }}
{%- endmacro %}

{% macro default__array_of(values) -%}
    [{{ values | join(', ') }}]
{%- endmacro %}

{% macro spark__array_of(values) -%}
    array({{ values | join(', ') }})
{%- endmacro %}

{#- True when `array` holds any of the text `values` (a Python list of strings). -#}
{% macro array_has_any(array, values) -%}
    {{ return(adapter.dispatch('array_has_any', 'carejourney')(array, values)) }}
{%- endmacro %}

{% macro default__array_has_any(array, values) -%}
    list_has_any({{ array }}, ['{{ values | join("', '") }}'])
{%- endmacro %}

{% macro spark__array_has_any(array, values) -%}
    arrays_overlap({{ array }}, array('{{ values | join("', '") }}'))
{%- endmacro %}

{#- True when `array` holds the text `value`. -#}
{% macro array_has(array, value) -%}
    {{ return(adapter.dispatch('array_has', 'carejourney')(array, value)) }}
{%- endmacro %}

{% macro default__array_has(array, value) -%}
    list_contains({{ array }}, '{{ value }}')
{%- endmacro %}

{% macro spark__array_has(array, value) -%}
    array_contains({{ array }}, '{{ value }}')
{%- endmacro %}

{#- The array without its null elements. -#}
{% macro array_without_nulls(array) -%}
    {{ return(adapter.dispatch('array_without_nulls', 'carejourney')(array)) }}
{%- endmacro %}

{% macro default__array_without_nulls(array) -%}
    list_filter({{ array }}, lambda x: x is not null)
{%- endmacro %}

{% macro spark__array_without_nulls(array) -%}
    filter({{ array }}, x -> x is not null)
{%- endmacro %}

{#- The elements from 1-based position `start` to the end. -#}
{% macro array_from(array, start) -%}
    {{ return(adapter.dispatch('array_from', 'carejourney')(array, start)) }}
{%- endmacro %}

{% macro default__array_from(array, start) -%}
    {{ array }}[{{ start }}:]
{%- endmacro %}

{% macro spark__array_from(array, start) -%}
    slice({{ array }}, {{ start }}, greatest(size({{ array }}), 1))
{%- endmacro %}

{#- In a select list: one row per element of the array (nulls kept, none for an empty array). -#}
{% macro unnest_array(array) -%}
    {{ return(adapter.dispatch('unnest_array', 'carejourney')(array)) }}
{%- endmacro %}

{% macro default__unnest_array(array) -%}
    unnest({{ array }})
{%- endmacro %}

{% macro spark__unnest_array(array) -%}
    explode({{ array }})
{%- endmacro %}

{#- An empty array of text. -#}
{% macro empty_text_array() -%}
    {{ return(adapter.dispatch('empty_text_array', 'carejourney')()) }}
{%- endmacro %}

{% macro default__empty_text_array() -%}
    []::varchar[]
{%- endmacro %}

{% macro spark__empty_text_array() -%}
    cast(array() as array<string>)
{%- endmacro %}

{#- True when the two arrays share an element. -#}
{% macro arrays_share_element(left, right) -%}
    {{ return(adapter.dispatch('arrays_share_element', 'carejourney')(left, right)) }}
{%- endmacro %}

{% macro default__arrays_share_element(left, right) -%}
    (len(list_intersect({{ left }}, {{ right }})) > 0)
{%- endmacro %}

{% macro spark__arrays_share_element(left, right) -%}
    (size(array_intersect({{ left }}, {{ right }})) > 0)
{%- endmacro %}
