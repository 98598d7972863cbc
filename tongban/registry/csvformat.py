"""The register import's CSV columns (docs/data-formats.md). Pure: the importer and the benchmark's
file generator share them without loading Django."""

COLUMNS = (
    "id_number",
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "address",
    "household_no",
    "relation",
    "registration_unit",
)
