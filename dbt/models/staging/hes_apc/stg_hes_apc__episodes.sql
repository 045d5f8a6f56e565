-- One row per current HES APC episode: renamed, typed and normalised; no business rules.
with source as (
    select * from {{ source('raw_current', 'hes_apc') }}
    where {{ row_is_usable() }}
),

sex_codes as (
    select lower(code) as code_lower, sex from {{ ref('sex_codes') }}
),

typed as (
    select
        'hes_apc' as source_dataset,
        {{ source_person_id(['"PROCODE3"', '"LOPATID"']) }} as source_person_id,
        trim("EPIKEY") as episode_id,
        {{ source_person_id(['"PROCODE3"', '"PROVSPNOPS"']) }} as spell_id,
        trim("PROCODE3") as provider_code,
        trim("LOPATID") as local_patient_id,
        trim("PROVSPNOPS") as provider_spell_number,
        {{ clean_nhs_number('"NEWNHSNO"') }} as nhs_number,
        {{ nhs_number_status_from_flags() }} as nhs_number_status,
        {{ parse_date('"DOB"') }} as date_of_birth,
        {{ birth_date_is_plausible(parse_date('"DOB"')) }} as date_of_birth_is_plausible,
        coalesce(sex_codes.sex, 'U') as sex,
        {{ normalise_postcode('"HOMEADD"') }} as postcode,
        nullif(upper(trim("RESLADST_ONS")), '') as resident_la_code,
        {{ parse_date('"ADMIDATE"') }} as admission_date,
        upper(trim("ADMIMETH")) as admission_method,
        trim("ADMISORC") as admission_source,
        {{ parse_date('"EPISTART"') }} as episode_start_date,
        {{ parse_date('"EPIEND"') }} as episode_end_date,
        try_cast(trim("EPIORDER") as integer) as episode_order,
        trim("EPISTAT") as episode_status,
        {{ parse_date('"DISDATE"') }} as discharge_date,
        trim("DISMETH") as discharge_method,
        trim("DISDEST") as discharge_destination,
        {{ parse_date('"DISCHARGE_READY_DATE"') }} as discharge_ready_date,
        trim("CLASSPAT") as patient_classification,
        nullif(trim("TRETSPEF"), '') as treatment_function,
        nullif(trim("MAINSPEF"), '') as main_specialty,
        {{ normalise_icd10('"DIAG_4_01"') }} as primary_diagnosis,
        -- All 20 positions, nulls kept, so position 1 is always the primary diagnosis.
        [
            {%- for i in range(1, 21) %}
                {{ normalise_icd10('"DIAG_4_%02d"' % i) }}{{ ',' if not loop.last }}
            {%- endfor %}
        ] as diagnoses,
        list_filter([
            {%- for i in range(1, 13) %}
                nullif(upper(replace(trim("OPERTN_4_{{ '%02d' % i }}"), '.', '')), ''){{ ',' if not loop.last }}
            {%- endfor %}
        ], lambda x: x is not null) as procedures,
        _flags,
        _load_id,
        _file_name,
        _line_number,
        _delivery_date
    from source
    left join sex_codes on sex_codes.code_lower = lower(trim(source."SEX"))
)

select * from typed
