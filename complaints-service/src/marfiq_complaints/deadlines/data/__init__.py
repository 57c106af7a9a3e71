"""The packaged data files: holidays.toml and rules.toml."""

from importlib import resources


def read(name: str) -> str:
    """The text of one packaged data file."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
