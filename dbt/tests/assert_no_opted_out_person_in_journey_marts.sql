{{ config(severity='error', tags=['severity_error']) }}
-- The national data opt-out, checked where it matters: no person_key of an opted-out
-- person (int_person__opted_out, via linkage.person) may appear in a journey mart.
with opted_out_keys as (
    select person.person_key
    from {{ ref('int_person__opted_out') }} as opted_out
    inner join {{ source('linkage', 'person') }} as person using (person_id)
)

select 'person' as mart, person_key from {{ ref('person') }}
where person_key in (select person_key from opted_out_keys)
union all
select 'journey', person_key from {{ ref('journey') }}
where person_key in (select person_key from opted_out_keys)
