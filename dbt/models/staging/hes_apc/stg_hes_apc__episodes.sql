-- One row per current HES APC episode: renamed, typed and normalised; no business rules.
{%- set key = ['EPIKEY'] %}
{{ incremental_by_record('episode_id', 'hes_apc', key) }}
with source as (
    select * from {{ source('raw_current', 'hes_apc') }}
    where {{ row_is_usable() }} and {{ changed_records_only('hes_apc', key) }}
),

sex_codes as (
    select lower(code) as code_lower, sex from {{ ref('sex_codes') }}
),

typed as (
    select
        'hes_apc' as source_dataset,
        {{ source_person_id([source_column('PROCODE3'), source_column('LOPATID')]) }} as source_person_id,
        {{ record_key(key) }} as episode_id,
        {{ source_person_id([source_column('PROCODE3'), source_column('PROVSPNOPS')]) }} as spell_id,
        trim({{ source_column('PROCODE3') }}) as provider_code,
        trim({{ source_column('LOPATID') }}) as local_patient_id,
        trim({{ source_column('PROVSPNOPS') }}) as provider_spell_number,
        {{ clean_nhs_number(source_column('NEWNHSNO')) }} as nhs_number,
        {{ nhs_number_status_from_flags() }} as nhs_number_status,
        {{ parse_date(source_column('DOB')) }} as date_of_birth,
        {{ birth_date_is_plausible(parse_date(source_column('DOB'))) }} as date_of_birth_is_plausible,
        coalesce(sex_codes.sex, 'U') as sex,
        {{ normalise_postcode(source_column('HOMEADD')) }} as postcode,
        nullif(upper(trim({{ source_column('RESLADST_ONS') }})), '') as resident_la_code,
        {{ parse_date(source_column('ADMIDATE')) }} as admission_date,
        upper(trim({{ source_column('ADMIMETH') }})) as admission_method,
        trim({{ source_column('ADMISORC') }}) as admission_source,
        {{ parse_date(source_column('EPISTART')) }} as episode_start_date,
        {{ parse_date(source_column('EPIEND')) }} as episode_end_date,
        try_cast(trim({{ source_column('EPIORDER') }}) as integer) as episode_order,
        trim({{ source_column('EPISTAT') }}) as episode_status,
        {{ parse_date(source_column('DISDATE')) }} as discharge_date,
        trim({{ source_column('DISMETH') }}) as discharge_method,
        trim({{ source_column('DISDEST') }}) as discharge_destination,
        {{ parse_date(source_column('DISCHARGE_READY_DATE')) }} as discharge_ready_date,
        trim({{ source_column('CLASSPAT') }}) as patient_classification,
        nullif(trim({{ source_column('TRETSPEF') }}), '') as treatment_function,
        nullif(trim({{ source_column('MAINSPEF') }}), '') as main_specialty,
        {{ normalise_icd10(source_column('DIAG_4_01')) }} as primary_diagnosis,
        -- All 20 positions, nulls kept, so position 1 is always the primary diagnosis.
        {%- set diagnoses = [] %}
        {%- for i in range(1, 21) %}
            {%- do diagnoses.append(normalise_icd10(source_column('DIAG_4_%02d' % i))) %}
        {%- endfor %}
        {%- set procedures = [] %}
        {%- for i in range(1, 13) %}
            {%- do procedures.append("nullif(upper(replace(trim(" ~ source_column('OPERTN_4_%02d' % i) ~ "), '.', '')), '')") %}
        {%- endfor %}
        {{ array_of(diagnoses) }} as diagnoses,
        {{ array_without_nulls(array_of(procedures)) }} as procedures,
        _flags,
        _load_id,
        _file_name,
        _line_number,
        _delivery_date
    from source
    left join sex_codes on sex_codes.code_lower = lower(trim(source.{{ source_column('SEX') }}))
)

select * from typed
