-- linkage.source_person, what linkage reads (docs/architecture.md, "linkage"): one row per
-- identity with its demographics, postcode history and NHS number, marked suspect when
-- int_linkage__nhs_number_suspects says so. Built with the dbt half before linkage.
-- Incremental nights: the touched identities and those whose suspect flag may change
-- are deleted, and every identity the table no longer holds appended (macro
-- incremental_by_identity).
{{ config(schema='linkage', alias='source_person') }}
{{ incremental_by_identity(
    delete_hook="delete_touched_or_suspect_identities(ref('int_linkage__nhs_number_suspects'))") }}

select
    identities.source_dataset,
    identities.source_person_id,
    identities.nhs_number,
    identities.nhs_number_status,
    suspects.source_person_id is not null as nhs_number_suspect,
    identities.first_name,
    identities.last_name,
    identities.date_of_birth,
    identities.sex,
    identities.postcode,
    identities.postcode_history,
    identities.la_code,
    identities.last_seen_date
from {{ ref('int_linkage__identities') }} as identities
left join {{ ref('int_linkage__nhs_number_suspects') }} as suspects
    on suspects.source_dataset = identities.source_dataset
        and suspects.source_person_id = identities.source_person_id
where {{ identities_missing_from_this('identities') }}
order by identities.source_dataset, identities.source_person_id
