"""Apply one service's migrations inside its own image (the migration one-shot / Job).

Usage: python /app/migrate.py  (the package comes from MARFIQ_PACKAGE, set by the image).
The URL is the service's own: <PREFIX>_DATABASE_URL when set, else DATABASE_URL, read
through the service's Settings class exactly as the service itself reads it.
"""

import importlib
import inspect
import os

from marfiq_shared.migrations import upgrade
from marfiq_shared.settings import MarfiqSettings

package = os.environ["MARFIQ_PACKAGE"]
app = importlib.import_module(f"{package}.app")
settings_module = importlib.import_module(f"{package}.settings")
settings_class = next(
    value
    for value in vars(settings_module).values()
    if inspect.isclass(value) and issubclass(value, MarfiqSettings) and value is not MarfiqSettings
)
upgrade(app.MIGRATIONS, settings_class().database_url)
print(f"{package}: migrated", flush=True)
