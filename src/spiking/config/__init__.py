"""The configuration: one typed tree, its defaults, reading, validation and writing.

Everything a run depends on is read once from TOML (or an original ``.env``
file) into frozen dataclasses and validated in one place; defaults are the
original model's. Nothing else in the package reads files or the environment
for settings.

Key names are dotted paths: ``network.hypercolumns``, ``retina.gabor.lambda``,
``projections.ex_on_to_ex_on.weight``. ``spiking config --defaults`` prints
every key with its unit.

Modules: :mod:`.fields` (how a key is declared and checked), :mod:`.sections`
(the tree and its defaults), :mod:`.tree` (plain data <-> tree, validation),
:mod:`.sources` (TOML, ``--set``, presets, ``.env``), :mod:`.writing` (TOML
out, differences, the reference page ``docs/config.md``).
"""

from .sections import (
    CODINGS,
    ENGINES,
    PLASTICITY,
    PRESETS,
    PROJECTION_NAMES,
    PROJECTION_TABLE,
    RECORDABLE_LAYERS,
    RETINA_FILTERS,
    RETINA_SOURCE_TEXT,
    RETINA_SOURCES,
    WIRING_TEXT,
    WIRINGS,
    Config,
    DogConfig,
    EpochConfig,
    GaborConfig,
    NetworkConfig,
    NeuronConfig,
    NeuronsConfig,
    ProjectionConfig,
    RecordingConfig,
    RenderConfig,
    RetinaConfig,
    RunConfig,
    STDPConfig,
    StimulusConfig,
    default_config,
)
from .sources import ENV_KEYS, apply_overrides, load_config, parse_override, read_env_file, read_toml
from .tree import from_mapping, to_mapping, validate
from .writing import diff_from_defaults, reference_markdown, to_toml, toml_value

__all__ = [
    "Config",
    "RunConfig",
    "NetworkConfig",
    "NeuronConfig",
    "NeuronsConfig",
    "GaborConfig",
    "DogConfig",
    "RetinaConfig",
    "RETINA_FILTERS",
    "EpochConfig",
    "StimulusConfig",
    "RecordingConfig",
    "RenderConfig",
    "ProjectionConfig",
    "STDPConfig",
    "PLASTICITY",
    "PROJECTION_NAMES",
    "PROJECTION_TABLE",
    "RECORDABLE_LAYERS",
    "ENGINES",
    "CODINGS",
    "RETINA_SOURCES",
    "RETINA_SOURCE_TEXT",
    "WIRINGS",
    "WIRING_TEXT",
    "PRESETS",
    "ENV_KEYS",
    "default_config",
    "load_config",
    "read_toml",
    "from_mapping",
    "to_mapping",
    "to_toml",
    "toml_value",
    "validate",
    "apply_overrides",
    "parse_override",
    "read_env_file",
    "diff_from_defaults",
    "reference_markdown",
]
