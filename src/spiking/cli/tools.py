"""Commands about the tools themselves: ``check`` (the simulators) and ``izhikevich`` (the 2003 paper)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..engines.registry import DEFAULT_ENGINE, engine_names
from .common import positive_float, positive_int

__all__ = ["register"]


def register(sub) -> None:
    """Add the commands to the ``spiking`` parser's subparsers."""
    p = sub.add_parser(
        "check",
        help="check the simulators: NEST (and the test network plots), Brian2 (compiler, OpenMP, a small build)",
        description="Check every engine: print what the installed NEST supports and draw the original's test "
        "network (test0.png, test1.png); print Brian2's version, the C++ compiler, OpenMP and the time of a small "
        "standalone build. Exit 1 when an engine checked is missing or broken.",
    )
    p.add_argument("--out", metavar="DIR", help="folder for test0.png and test1.png (default: output/check-<time>)")
    p.add_argument(
        "--engine", choices=[*engine_names(), "all"], default="all", help="which engine to check (default all)"
    )
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "izhikevich",
        help="reproduce Izhikevich (2003): neuron classes and the 1000-neuron network",
        description="Reproductions of Izhikevich (2003), 'Simple Model of Spiking Neurons', each into a run folder, on NEST or Brian2. Exit 1 when a check fails.",
    )
    isub = p.add_subparsers(dest="what", metavar="WHAT")
    isub.required = True
    q = isub.add_parser(
        "types",
        help="Fig. 2: seven neuron classes under a step current, checked by number",
        description="Simulate the paper's Fig. 2 classes (RS, IB, CH, FS, LTS, TC, RZ) under a step current and check each class's behaviour by number. Exit 1 when a class fails its check.",
    )
    q.add_argument(
        "--duration", type=positive_float, default=500.0, metavar="MS", help="model time per class (default 500 ms)"
    )
    q.add_argument("--current", type=float, default=10.0, metavar="I", help="step current (default 10)")
    _engine_arg(q)
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.set_defaults(func=cmd_izhikevich_types)
    q = isub.add_parser(
        "network",
        help="Fig. 3: 800 excitatory and 200 inhibitory neurons, rhythms and rates",
        description="Simulate the paper's Fig. 3 network and measure its mean rate and alpha/gamma rhythms. Exit 1 when they are not the paper's.",
    )
    q.add_argument(
        "--duration", type=positive_float, default=10000.0, metavar="MS", help="model time (default 10000 ms)"
    )
    q.add_argument("--seed", type=positive_int, default=1, help="seed of the parameters, weights and input (default 1)")
    q.add_argument("--threads", type=positive_int, default=1, help="NEST threads (default 1; brian2 runs on one)")
    _engine_arg(q)
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.set_defaults(func=cmd_izhikevich_network)


def _engine_arg(q) -> None:
    # validated by the library, so a wrong name gets the one-line error of every other bad value
    from ..izhikevich.protocols import ENGINES

    q.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        metavar="{" + ",".join(ENGINES) + "}",
        help=f"simulator (default {DEFAULT_ENGINE})",
    )


def cmd_check(args) -> int:
    import importlib
    from datetime import datetime

    from ..engines.registry import ENGINES

    out = Path(args.out) if args.out else Path("output") / f"check-{datetime.now():%Y%m%d-%H%M%S}"
    ok = True
    for name, spec in ENGINES.items():
        if args.engine not in (name, "all") or spec.check is None:
            continue
        works, lines, files = importlib.import_module(spec.check).report(out)
        for line in lines:
            print(line, file=sys.stderr)
        for f in files:
            print(f)
        ok = ok and works
    return 0 if ok else 1


def cmd_izhikevich_types(args) -> int:
    from ..izhikevich.checks import format_check_table
    from ..izhikevich.runs import run_types

    folder, rows = run_types(args.output_dir, duration=args.duration, current=args.current, engine=args.engine)
    print(format_check_table(rows), file=sys.stderr)
    failed = [r.name for r in rows if not r.passed]
    if failed:
        print(f"spiking: {', '.join(failed)} not as in the paper (see {folder / 'checks.csv'})", file=sys.stderr)
    print(folder)
    return 1 if failed else 0


def cmd_izhikevich_network(args) -> int:
    from ..izhikevich.runs import run_network

    folder, metrics = run_network(
        args.output_dir, duration=args.duration, seed=args.seed, threads=args.threads, engine=args.engine
    )
    s = metrics.summary()
    print(
        f"{args.engine}: mean rate {s['mean_rate_hz']:.2f} Hz; alpha peak {s['alpha_peak_hz']:.0f} Hz "
        f"({s['alpha_ratio']:.1f}x baseline), gamma peak {s['gamma_peak_hz']:.0f} Hz ({s['gamma_ratio']:.1f}x baseline), "
        f"{s['segments']} spectral segments: {'as in the paper' if s['passed'] else 'NOT as in the paper'}",
        file=sys.stderr,
    )
    if not s["passed"]:
        failed = [k[:-3] for k in ("rate_ok", "alpha_ok", "gamma_ok", "segments_ok") if not s[k]]
        print(f"spiking: network check failed: {', '.join(failed)} (see {folder / 'manifest.json'})", file=sys.stderr)
    print(folder)
    return 0 if s["passed"] else 1
