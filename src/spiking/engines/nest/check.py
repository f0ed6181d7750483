"""``spiking check`` for NEST: what the installed NEST supports, and the original's environment test plots.

The plots are drawn by NEST's own ``nest.PlotLayer`` and ``nest.PlotTargets``,
which create and return pyplot figures: this module therefore uses pyplot
(with the Agg backend), writes each figure atomically with
:func:`spiking.io.atomic.save_figure` and closes it at once, so no figure is
left in pyplot's global state.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import EngineUnavailableError, SpikingError
from ...io.atomic import save_figure

__all__ = ["run_check", "report"]

_YES = {True: "yes", False: "no"}


def report(folder) -> tuple[bool, list[str], list[Path]]:
    """``spiking check`` for NEST: whether it works, lines for people, and the plots written into ``folder``.

    Raises :class:`~spiking.errors.SpikingError` when the plots cannot be written.
    """
    try:
        caps, files = run_check(folder)
    except EngineUnavailableError as err:
        return False, [f"spiking: NEST is not usable: {err}"], []
    except OSError as err:
        raise SpikingError(f"{folder}: cannot write the check plots ({err.strerror or err})") from None
    line = (
        f"NEST {caps['version']}: threads {_YES[caps['threads']]}, MPI {_YES[caps['mpi']]}, "
        f"HDF5 {_YES[caps['hdf5']]}, GSL {_YES[caps['gsl']]}; test network built with {caps['synapses']} synapses"
    )
    return True, [line], list(files)


def run_check(folder) -> tuple[dict, list[Path]]:
    """Build the test network and draw ``test0.png`` and ``test1.png`` into ``folder``.

    The network: a 9x9 and a 4x4 grid of ``iaf_psc_alpha`` (extent 1.1 x 1.1);
    the 4x4 layer connects divergently to the 9x9 one with a circular mask of
    radius 0.3 and a Gaussian kernel (p(0) = 1, sigma = 0.15). ``test0`` draws
    both layers; ``test1`` adds the centre element's targets with mask and kernel.

    Returns
    -------
    capabilities : dict
        NEST version, threads, MPI, HDF5, GSL, and the synapses built.
    files : list of Path

    Raises
    ------
    EngineUnavailableError
        When NEST cannot be imported.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .install import import_nest, nest_capabilities

    nest = import_nest()
    caps = nest_capabilities()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    big = nest.Create("iaf_psc_alpha", positions=nest.spatial.grid(shape=[9, 9], extent=[1.1, 1.1]))
    small = nest.Create("iaf_psc_alpha", positions=nest.spatial.grid(shape=[4, 4], extent=[1.1, 1.1]))
    mask = {"circular": {"radius": 0.3}}
    kernel = nest.spatial_distributions.gaussian(nest.spatial.distance, std=0.15)
    # divergent (NEST 2): pairwise_bernoulli, mask and kernel centred on each source
    nest.Connect(small, big, {"rule": "pairwise_bernoulli", "p": kernel, "mask": mask})
    caps["synapses"] = int(nest.num_connections)

    def draw(name: str, title: str, width: float, targets: bool) -> Path:
        fig = nest.PlotLayer(big, nodecolor="tab:blue", nodesize=40)
        nest.PlotLayer(small, fig=fig, nodecolor="tab:red", nodesize=60)
        if targets:
            nest.PlotTargets(
                nest.FindCenterElement(small),
                big,
                fig=fig,
                mask=mask,
                probability_parameter=kernel,
                src_color="red",
                src_size=120,
                tgt_color="yellow",
                tgt_size=40,
                mask_color="black",
            )
        ax = fig.gca()
        ax.set_title(title)
        ax.set_xlabel("x (units)")
        ax.set_ylabel("y (units)")
        fig.set_size_inches(width, 6)
        try:
            return save_figure(fig, folder / name, dpi=90)
        finally:
            plt.close(fig)

    files = [
        draw("test0.png", "test0: 9x9 layer (blue) and 4x4 layer (red)\nextent 1.1 x 1.1", 6.5, targets=False),
        draw(
            "test1.png",
            "test1: targets (yellow) of the 4x4 layer's centre element\n"
            "circular mask r = 0.3, Gaussian kernel p(0) = 1, sigma = 0.15",
            7.5,
            targets=True,
        ),
    ]
    return caps, files
