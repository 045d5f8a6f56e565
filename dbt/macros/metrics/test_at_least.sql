{#- Generic test: every non-null value of the column is >= minimum (default 0).
    Fails with the offending rows, e.g. a negative discharge delay. -#}
{% test at_least(model, column_name, minimum=0) %}
select *
from {{ model }}
where {{ column_name }} < {{ minimum }}
{% endtest %}
