from marfiq_identity.db import SCHEMA, metadata
from marfiq_shared.migrations import run_env

import marfiq_identity.models  # noqa: F401  (registers every table on the metadata)

run_env(metadata, SCHEMA)
