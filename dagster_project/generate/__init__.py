"""Synthetic landing data: a simulated population and the records three services keep about it.

`carejourney generate --people N --out DIR --seed S [--truth DIR]` (command.py) runs:

    population.py   people, ages, councils, postcodes/LSOAs (geography.py), deaths, moves,
                    care home admissions, twins and namesakes, NHS numbers
    migration.py    people moving into and out of the councils, balanced per age (stationary)
    hospital.py     HES spells and episodes (emergency incl. falls and ACSC, elective,
                    day case, maternity, transfers, readmissions, deaths, delays)
    social_care.py  CLD requests, assessments, services (reablement, home care, care homes), reviews
    community.py    CSDS referrals (team types 01-06, 99) and care contacts
    mess.py         each source's view of a person: NHS number, DOB, sex coding, names, stale postcodes
    landing.py      master tables per landing table (Arrow)
    deliveries.py   cumulative, overlapping quarterly delivery files, malformed rows (DuckDB COPY)
    reference.py    population estimates, postcode directory, opt-outs, deaths; person_truth.csv
    calibration.py  the metrics the simulation produces vs England's ranges

All settings and their documented defaults are in config.py (GeneratorConfig,
RatesConfig, MessConfig). Same seed and options give byte-identical files.
"""
