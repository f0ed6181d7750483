"""The ``export`` command: a run folder as files other tools open, NWB (``--nwb``) and the SONATA network (``--sonata-network``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import SpikingError

__all__ = ["register", "cmd_export"]


def register(sub) -> None:
    """Add the command to the ``spiking`` parser's subparsers."""
    p = sub.add_parser(
        "export",
        help="write a run as NWB, or its network as SONATA (no simulation)",
        description=(
            "Write a complete run folder in formats other tools open: --nwb writes <run-id>.nwb (units table, "
            "stimulus epochs and images, config; opens with pynwb), --sonata-network writes network/: the network "
            "the model drew (from the network cache, or drawn again from config.toml and the seed) as SONATA nodes "
            "and edges, with a circuit config, a simulation config and the input spikes of every virtual population "
            "(libsonata, NEST's SonataNetwork and bmtk read it; `spiking run --network` runs it again). Files go "
            "into the run folder unless --out says otherwise."
        ),
    )
    p.add_argument("folder", metavar="RUN_FOLDER", help="a run folder, e.g. output/20260101-120000-9hc-1000ms")
    p.add_argument("--nwb", action="store_true", help="write <run-id>.nwb")
    p.add_argument(
        "--sonata-network",
        action="store_true",
        help="write the network as SONATA into network/ (seconds; a run with network.wiring = engine is rebuilt "
        "by its engine, as long as its build and connect)",
    )
    p.add_argument("--out", metavar="DIR", help="folder for the exports (default: the run folder)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the files written and errors")
    p.set_defaults(func=cmd_export)


def _record(folder: Path, key: str, info: dict) -> None:
    """Note an export in the run's manifest (``exports``)."""
    from ..io.runfolder import read_manifest, write_manifest

    m = read_manifest(folder)
    m.setdefault("exports", {})[key] = info
    write_manifest(folder, m)


def cmd_export(args) -> int:
    from ..api import open_run
    from ..export.nwb import require_complete

    if not (args.nwb or args.sonata_network):
        raise SpikingError("export: say what to write: --nwb, --sonata-network or both")
    run = open_run(args.folder)
    require_complete(run)
    out = Path(args.out) if args.out else run.folder
    if args.out:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SpikingError(f"{out}: export folder cannot be created ({err.strerror or err})") from None

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr)

    if args.nwb:
        from ..export.nwb import export_nwb, nwb_path

        t0 = time.perf_counter()
        path = export_nwb(run, nwb_path(run, out))
        seconds = time.perf_counter() - t0
        say(f"nwb        {seconds:7.2f} s   {path.stat().st_size:,} bytes")
        _record(run.folder, "nwb", {"file": str(path), "seconds": round(seconds, 3), "bytes": path.stat().st_size})
        print(path)
    if args.sonata_network:
        from ..export.sonata import export_network

        res = export_network(run, out, say=say)
        say(f"sonata     {res['seconds']['total']:7.2f} s   {res['bytes']:,} bytes in {res['folder']}")
        info = {
            "folder": str(res["folder"]),
            "seconds": res["seconds"],
            "bytes": res["bytes"],
            "edges": sum(res["edges"].values()),
        }
        _record(run.folder, "sonata_network", info)
        print(res["circuit_config"])
    return 0
