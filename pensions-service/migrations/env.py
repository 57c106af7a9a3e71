from marfiq_pensions.db import SCHEMA, metadata
from marfiq_shared.migrations import run_env

import marfiq_pensions.models  # noqa: F401  (registers every table on the metadata)

run_env(metadata, SCHEMA)
