"""`python -m marfiq_shared.events` prints the event catalogue page (docs/events.md)."""

from marfiq_shared.events.catalogue import render_markdown

print(render_markdown(), end="")
