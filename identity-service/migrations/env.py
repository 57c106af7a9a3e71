import marfiq_identity.models  # noqa: F401  (registers every table on the metadata)
from marfiq_identity.db import SCHEMA, metadata
from marfiq_shared.migrations import run_env

run_env(metadata, SCHEMA)
