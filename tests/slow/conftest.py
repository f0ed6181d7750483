"""The slow tier's share of fixtures kept beside the fast tests they began with (one definition each)."""

from test_izhikevich import types_brian2, types_result  # noqa: F401
from test_izhikevich_cli import types_folders  # noqa: F401
from test_izhikevich_network import network_brian2, network_runs  # noqa: F401
from test_network_file import runs  # noqa: F401
from test_plasticity import learning_runs, plastic_runs  # noqa: F401
from test_render import run_folder  # noqa: F401
from test_run import small_run  # noqa: F401
