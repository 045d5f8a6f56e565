-- Where people go next after an emergency admission: the Sankey's first step, from
-- marts.pathway_transitions. In the published copy a count of 1-7 is suppressed
-- (null) and the rest are rounded to 5, so the total of the transitions is not
-- known exactly: a share computed over the shown rows only would overstate every
-- share. Each share is therefore given as a range, with each suppressed count
-- taken as 7 (pct_min) and as 1 (pct_max); rounding moves each shown count by up to
-- 2 more. In the warehouse (exact counts, nothing suppressed) the two are equal.
-- For shares by year, council and age band, use marts.pathway_index_events.
-- Run: carejourney query "$(cat docs/queries/pathways_after_emergency_admission.sql)"
with transitions as (
    select to_state, n_people, n_transitions, median_days
    from marts.pathway_transitions
    where from_state = 'emergency_admission'
),

totals as (
    select
        coalesce(sum(n_transitions), 0) as shown_transitions,
        count(*) filter (where n_transitions is null) as suppressed_rows
    from transitions
)

select
    transitions.to_state,
    transitions.n_people,
    transitions.n_transitions,
    round(100.0 * transitions.n_transitions / (totals.shown_transitions + 7 * totals.suppressed_rows), 1)
        as pct_min,
    round(100.0 * transitions.n_transitions / (totals.shown_transitions + 1 * totals.suppressed_rows), 1)
        as pct_max,
    transitions.median_days
from transitions, totals
order by transitions.n_transitions desc nulls last, transitions.to_state
