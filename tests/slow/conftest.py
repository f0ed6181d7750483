"""Fixtures the slow tier shares with the fast tests they serve (one definition each)."""

from test_izhikevich import types_result  # noqa: F401
from test_network_file import runs  # noqa: F401
from test_render import run_folder  # noqa: F401
