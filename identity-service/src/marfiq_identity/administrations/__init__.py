"""The directory of administrations: the source of truth other services replicate."""
