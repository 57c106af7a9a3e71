import marfiq_correspondence.models  # noqa: F401  (registers every table on the metadata)
from marfiq_correspondence.db import SCHEMA, metadata
from marfiq_shared.migrations import run_env

run_env(metadata, SCHEMA)
