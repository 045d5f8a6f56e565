{#- Within each partition the sequence must be exactly 1..n: no gap, no repeat, no
    zero. Fails with each partition whose sequence is not. -#}
{% test event_seq_contiguous(model, partition_by, seq_column) %}
select
    {{ partition_by }},
    count(*) as n_rows,
    count(distinct {{ seq_column }}) as n_distinct,
    min({{ seq_column }}) as min_seq,
    max({{ seq_column }}) as max_seq
from {{ model }}
group by {{ partition_by }}
having min({{ seq_column }}) <> 1
    or max({{ seq_column }}) <> count(*)
    or count(distinct {{ seq_column }}) <> count(*)
    or count({{ seq_column }}) <> count(*)
{% endtest %}
