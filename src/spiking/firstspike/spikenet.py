"""SpikeNET's configuration of the 40-face network of Delorme & Thorpe (2001), read from a folder the user names.

The folder holds the files of SpikeNET's demos ``networkdemo40faceslearn`` and
``networkdemo40facesrun`` (public repository arnodelorme/SpikeNET, GPL-2) and
the convolution kernels they name, flattened into one folder as
``learn_net_names``, ``learn_net_projs``, ``learn_net_env``,
``learn_lst_img``, ``run_net_names``, ``kernel_<name>`` (e.g.
``kernel_OnCenter``, ``kernel_FS4-OR0.on``). They are read, never copied
into the project: the maps with their thresholds and modulation, which
kernel joins which maps, the learning list with each image's face centre,
and the kernels. A kernel file is ``width height x`` (the third number is
not used) followed by ``height`` rows of ``width`` numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError

__all__ = ["MapSpec", "LearnImage", "SpikeNetConfig", "read_kernel", "read_config"]


@dataclass(frozen=True)
class MapSpec:
    """One map of a SpikeNET network (a line ``Name ... Layer ... Threshold ... MOD ...``)."""

    name: str
    layer: int
    threshold: float
    mod: float | None
    zoom: int


@dataclass(frozen=True)
class LearnImage:
    """One line of the learning list: an image, the face map it teaches and the face centre (image pixels)."""

    image: str
    person: str
    x: int
    y: int


@dataclass(frozen=True)
class SpikeNetConfig:
    """The 40-face network as SpikeNET's files configure it.

    Attributes
    ----------
    maps : dict
        Name -> :class:`MapSpec` (learning configuration).
    run_thresholds : dict
        Face map -> the threshold SpikeNET's run configuration gives it.
    projections : list of (source, target, kernel name)
        Retina -> orientation projections with fixed kernels.
    kernels : dict
        Kernel name -> array ``[row, col]``.
    learn : list of LearnImage
    time_stop : int
        Time steps simulated while learning.
    """

    folder: Path
    maps: dict
    run_thresholds: dict
    projections: list
    kernels: dict
    learn: list
    time_stop: int

    @property
    def orientation_maps(self) -> list[str]:
        return [m.name for m in self.maps.values() if m.layer == 1]

    @property
    def face_maps(self) -> list[str]:
        return [m.name for m in self.maps.values() if m.layer == 2]


def read_kernel(path) -> np.ndarray:
    """A SpikeNET kernel file as an array ``[row, col]`` (``height`` rows of ``width`` values)."""
    path = Path(path)
    try:
        values = path.read_text().split()
        w, h = int(float(values[0])), int(float(values[1]))
        data = np.array([float(v) for v in values[3 : 3 + w * h]])
    except (OSError, ValueError, IndexError) as err:
        raise DatasetError(f"{path}: not a SpikeNET kernel file ({err})") from None
    if data.size != w * h:
        raise DatasetError(f"{path}: {data.size} values where the header says {w} x {h}")
    return data.reshape(h, w)


def _fields(line: str) -> list[str]:
    return line.split("#", 1)[0].split()


def _maps(path: Path) -> dict[str, MapSpec]:
    out = {}
    for line in path.read_text().splitlines():
        f = _fields(line)
        if len(f) < 2 or f[0] != "Name":
            continue
        kv = {f[i]: f[i + 1] for i in range(0, len(f) - 1) if f[i] in ("Name", "Layer", "Threshold", "MOD", "Zoom")}
        out[kv["Name"]] = MapSpec(
            name=kv["Name"],
            layer=int(kv["Layer"]),
            threshold=float(kv["Threshold"]),
            mod=float(kv["MOD"]) if "MOD" in kv else None,
            zoom=int(kv.get("Zoom", 1)),
        )
    return out


def read_config(folder) -> SpikeNetConfig:
    """Read the 40-face network's files from ``folder``; :class:`~spiking.errors.DatasetError` in one line if absent."""
    folder = Path(folder)
    needed = ("learn_net_names", "learn_net_projs", "learn_net_env", "learn_lst_img", "run_net_names")
    missing = [n for n in needed if not (folder / n).is_file()]
    if missing:
        raise DatasetError(
            f"{folder}: not SpikeNET's 40-face configuration (missing {', '.join(missing)}); it comes from the "
            "repository arnodelorme/SpikeNET (networkdemo40faceslearn, networkdemo40facesrun, Convolutions)"
        )
    maps = _maps(folder / "learn_net_names")
    run_maps = _maps(folder / "run_net_names")
    projections, kernels = [], {}
    for line in (folder / "learn_net_projs").read_text().splitlines():
        f = _fields(line)
        if len(f) >= 4 and f[0] in maps and f[1] in maps and maps[f[0]].layer == 0:
            name = Path(f[-1]).name
            projections.append((f[0], f[1], name))
    for m in maps.values():  # the retina's own kernels, named in its Input clause
        text = (folder / "learn_net_names").read_text()
        hit = re.search(rf"Name\s+{re.escape(m.name)}\s.*?Convo\s+(\S+)", text)
        if m.layer == 0 and hit:
            projections.append(("image", m.name, Path(hit.group(1)).name))
    for _, _, name in projections:
        if name not in kernels:
            kernels[name] = read_kernel(folder / f"kernel_{name}")
    learn = []
    for line in (folder / "learn_lst_img").read_text().splitlines():
        f = _fields(line)
        if len(f) >= 6 and f[0] == "Image" and f[2] == "Learn":
            learn.append(LearnImage(Path(f[1]).name, f[3], int(f[4]), int(f[5])))
    stop = re.search(r"TIME_STOP\s+(\d+)", (folder / "learn_net_env").read_text())
    return SpikeNetConfig(
        folder=folder,
        maps=maps,
        run_thresholds={n: m.threshold for n, m in run_maps.items() if m.layer == 2},
        projections=projections,
        kernels=kernels,
        learn=learn,
        time_stop=int(stop.group(1)) if stop else 1000,
    )
