-- linkage.source_person, what linkage reads (docs/architecture.md, "linkage"): one row per
-- identity with its demographics, postcode history and NHS number, marked suspect when
-- int_linkage__nhs_number_suspects says so. Built with the dbt half before linkage.
{{ config(schema='linkage', alias='source_person') }}

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
order by identities.source_dataset, identities.source_person_id
