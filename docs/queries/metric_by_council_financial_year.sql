-- One system metric by council and financial year, with England-style context: the
-- all-council value beside each council's. Choose the metric in params (the list is
-- in marts.system_metrics.metric_id; definitions in the output contract). In the
-- published copy, suppressed rows (counts 1-7) have null values: they are shown,
-- not hidden, so a gap is visibly a suppression.
-- Run: carejourney query "$(cat docs/queries/metric_by_council_financial_year.sql)"
with params as (
    select coalesce(null::varchar, 'emergency_admissions_65_per_100k') as metric_id
),

yearly as (
    select metrics.*
    from marts.system_metrics as metrics
    inner join params using (metric_id)
    where metrics.period_type = 'financial_year'
)

select
    councils.period_start,
    councils.period_end,
    councils.la_code,
    councils.numerator,
    councils.denominator,
    round(councils.value, 1) as value,
    round(all_councils.value, 1) as value_all_councils,
    councils.suppressed,
    councils.note
from yearly as councils
left join yearly as all_councils
    on all_councils.period_start = councils.period_start
   and all_councils.la_code = 'ALL'
where councils.la_code <> 'ALL'
order by councils.period_start, councils.la_code
