-- Where people go next after an emergency admission: the Sankey's first step, from
-- marts.pathway_transitions (in the published copy, counts of 1-7 are suppressed and
-- the rest rounded to 5, so shares are approximate).
-- Run: carejourney query "$(cat docs/queries/pathways_after_emergency_admission.sql)"
select
    to_state,
    n_people,
    n_transitions,
    round(100.0 * n_transitions / sum(n_transitions) over (), 1) as pct_of_transitions,
    median_days
from marts.pathway_transitions
where from_state = 'emergency_admission'
order by n_transitions desc nulls last, to_state
