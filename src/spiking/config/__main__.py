"""``python -m spiking.config > docs/config.md`` writes the config reference."""

from .writing import reference_markdown

print(reference_markdown(), end="")
