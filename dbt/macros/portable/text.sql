{#- Portable SQL, text: one home per construct that DuckDB and Spark write differently
    (dbt/README.md, "Portable SQL: the macros and the rule"). `default__` is the
    DuckDB SQL the project has always compiled (so DuckDB results do not change);
    `spark__` is Spark SQL as dbt-spark runs it: ANSI mode OFF, so an unknown idiom
    there gives NULLs or string literals instead of an error. -#}

{#- A raw landing column by its exact contract name ("LA Code", "PROCODE3"): double
    quotes on DuckDB; on Spark a double-quoted name is a STRING LITERAL (every row
    would read 'LA Code'), so backticks. -#}
{% macro source_column(name) -%}
    {{ return(adapter.dispatch('source_column', 'carejourney')(name)) }}
{%- endmacro %}

{% macro default__source_column(name) -%}
    "{{ name }}"
{%- endmacro %}

{% macro spark__source_column(name) -%}
    `{{ name }}`
{%- endmacro %}

{#- Replace every match of `pattern` (a regular expression, written as the regex
    itself, e.g. '\s') in `expression`. DuckDB replaces only the first match unless
    given 'g'; Spark always replaces all, but reads a backslash in a string literal as
    an escape ('\s' is 's'), so the pattern's backslashes are doubled there. -#}
{% macro regexp_replace_all(expression, pattern, replacement='') -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'carejourney')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement='') -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expression, pattern, replacement='') -%}
    regexp_replace({{ expression }}, '{{ pattern | replace("\\", "\\\\") }}', '{{ replacement }}')
{%- endmacro %}

{#- The text without accents on its letters ('Zoë' -> 'Zoe'). DuckDB: strip_accents.
    Spark has no such function: translate() maps each accented letter of Latin-1 and
    Latin Extended-A/B (the letters names are written in) to its base letter, exactly
    what strip_accents does to them (tests/linkage/test_normalise_and_rules.py derives
    the two lists from Unicode and checks them). -#}
{% macro strip_accents(text) -%}
    {{ return(adapter.dispatch('strip_accents', 'carejourney')(text)) }}
{%- endmacro %}

{% macro default__strip_accents(text) -%}
    strip_accents({{ text }})
{%- endmacro %}

{% macro spark__strip_accents(text) -%}
    translate({{ text }}, '{{ spark_accented_letters() }}', '{{ spark_accent_base_letters() }}')
{%- endmacro %}

{% macro spark_accented_letters() -%}
    ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ
{%- endmacro %}

{% macro spark_accent_base_letters() -%}
    AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy
{%- endmacro %}

{#- True when the whole text matches `pattern` (a regular expression written as the
    regex itself). Spark: rlike anchored, with the pattern's backslashes doubled (a Spark
    string literal reads a backslash as an escape). -#}
{% macro regexp_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'carejourney')(text, pattern)) }}
{%- endmacro %}

{% macro default__regexp_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_full_match(text, pattern) -%}
    ({{ text }} rlike '^(?:{{ pattern | replace("\\", "\\\\") }})$')
{%- endmacro %}

{#- A date as YYYY-MM-DD text. -#}
{% macro date_iso_text(date) -%}
    {{ return(adapter.dispatch('date_iso_text', 'carejourney')(date)) }}
{%- endmacro %}

{% macro default__date_iso_text(date) -%}
    strftime({{ date }}, '%Y-%m-%d')
{%- endmacro %}

{% macro spark__date_iso_text(date) -%}
    date_format({{ date }}, 'yyyy-MM-dd')
{%- endmacro %}
