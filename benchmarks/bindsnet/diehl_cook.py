"""BindsNET's Diehl & Cook (2015) network learning digits: digits per second (run in BindsNET's environment).

Called by ``benchmarks/learn_digits_speed.py`` with a ``.npz`` of digits
(``pixels`` uint8 (n, 784), ``labels``); prints one JSON line. The network and
the loop are those of BindsNET's ``examples/mnist/eth_mnist.py``
(``DiehlAndCook2015``, ``PoissonEncoder``, a spike monitor on the excitatory
layer, state reset between digits), with the time step, presentation time and
input rates given on the command line so that the work per digit can match
spiking's (0.5 ms steps, 350 ms per digit, pixel / 4 Hz).
"""

import argparse
import json
import time

import numpy as np
import torch
from bindsnet.encoding import PoissonEncoder
from bindsnet.models import DiehlAndCook2015
from bindsnet.network.monitors import Monitor


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("digits", help=".npz with pixels (n, 784) uint8 and labels")
    p.add_argument("--neurons", type=int, default=100)
    p.add_argument("--time-ms", type=float, default=350.0, help="presentation per digit (eth_mnist.py: 250)")
    p.add_argument("--dt-ms", type=float, default=0.5, help="time step (eth_mnist.py: 1.0)")
    p.add_argument("--max-rate-hz", type=float, default=63.75, help="rate of a white pixel (eth_mnist.py: 128)")
    p.add_argument("--warmup", type=int, default=20, help="digits before the clock starts")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    data = np.load(args.digits)
    images = torch.tensor(data["pixels"], dtype=torch.float32) / 255.0
    network = DiehlAndCook2015(
        n_inpt=784,
        n_neurons=args.neurons,
        exc=22.5,
        inh=17.5,
        dt=args.dt_ms,
        norm=78.4,
        theta_plus=0.05,
        inpt_shape=(1, 28, 28),
    )
    steps = int(args.time_ms / args.dt_ms)
    monitor = Monitor(network.layers["Ae"], ["s"], time=steps)
    network.add_monitor(monitor, name="Ae_spikes")
    encoder = PoissonEncoder(time=args.time_ms, dt=args.dt_ms)
    spikes = 0
    t0 = None
    for i, image in enumerate(images):
        if i == args.warmup:
            t0 = time.perf_counter()
            spikes = 0
        inputs = {"X": encoder(image * args.max_rate_hz).view(steps, 1, 1, 28, 28)}
        network.run(inputs=inputs, time=args.time_ms)
        spikes += int(monitor.get("s").sum())
        network.reset_state_variables()
    seconds = time.perf_counter() - t0
    timed = len(images) - args.warmup
    print(
        json.dumps(
            {
                "neurons": args.neurons,
                "digits": timed,
                "seconds": round(seconds, 3),
                "digits_per_s": round(timed / seconds, 2),
                "excitatory_spikes_per_digit": round(spikes / timed, 2),
                "torch_threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
