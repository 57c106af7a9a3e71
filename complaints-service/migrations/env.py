import marfiq_complaints.models  # noqa: F401  (registers every table on the metadata)
from marfiq_complaints.db import SCHEMA, metadata
from marfiq_shared.migrations import run_env

run_env(metadata, SCHEMA)
