#!/usr/bin/env bash
# Build NEST with MPI (and HDF5, for NEST's own SONATA reader) from the PyPI
# source distribution and install it into a virtual environment, reusing a
# cached wheel when one exists.
#
#   scripts/build-nest-mpi.sh [VENV]        (default: .venv)
#
# Environment:
#   SPIKING_CACHE   where built wheels are kept (default: ~/.cache/spiking)
#   NEST_VERSION    the nest-simulator release to build (default: 3.10.0)
#   NEST_MODELS     ';'-separated NEST models to compile in (default: the
#                   models spiking uses; "full" builds every model, ~3x longer)
#   MPICC, MPICXX   a cluster's own MPI compiler wrappers (default: Debian's OpenMPI)
#   HDF5_DIR        the HDF5 that NEST and h5py share (default: Debian's serial HDF5)
#   SKIP_APT=1      do not install Debian packages (e.g. on a cluster with modules)
set -euo pipefail

venv=${1:-.venv}
cache=${SPIKING_CACHE:-$HOME/.cache/spiking}
version=${NEST_VERSION:-3.10.0}
models=${NEST_MODELS:-"izhikevich;parrot_neuron;poisson_generator;spike_train_injector;inhomogeneous_poisson_generator;spike_generator;spike_recorder;multimeter;dc_generator;step_current_generator;noise_generator;static_synapse;stdp_synapse;stdp_synapse_hom;iaf_psc_alpha"}

debs="libopenmpi-dev openmpi-bin libgsl-dev libboost-dev libltdl-dev libhdf5-dev"
if [ "${SKIP_APT:-0}" != 1 ] && ! dpkg -s $debs >/dev/null 2>&1; then
  echo "Installing Debian's OpenMPI, GSL, Boost, libltdl and HDF5 ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs >/dev/null
fi

key=$(printf '%s|%s|%s|%s|hdf5' "$version" "$models" "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" "$(mpirun --version 2>/dev/null | head -1)" | sha256sum | cut -c1-16)
dir="$cache/nest-mpi/$key"
wheel=$(ls "$dir"/nest_simulator-*.whl 2>/dev/null | head -1 || true)

if [ -z "$wheel" ]; then
  echo "Building nest-simulator $version with MPI (about 10-30 minutes on two cores; cached in $dir) ..."
  mkdir -p "$dir.tmp"
  if [ "$models" = full ]; then model_arg=(); else model_arg=(-C "cmake.define.with-models=$models"); fi
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$venv/bin/pip" wheel --no-deps --no-cache-dir --no-binary nest-simulator \
    "nest-simulator==$version" -w "$dir.tmp" \
    -C cmake.define.with-mpi=ON -C cmake.define.with-hdf5=ON "${model_arg[@]}"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  wheel=$(ls "$dir"/nest_simulator-*.whl | head -1)
else
  echo "Using the cached MPI build $wheel"
fi

"$venv/bin/pip" install -q --force-reinstall --no-deps "$wheel"
"$venv/bin/pip" install -q numpy mpi4py

# NEST's SONATA reader imports h5py into the process that holds NEST's HDF5: the two must be one HDF5,
# so h5py is built against Debian's (the PyPI wheel brings its own, and then fails to import there)
h5py_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("h5py"))')
hdf5_dir=${HDF5_DIR:-/usr/lib/$(gcc -print-multiarch)/hdf5/serial}
h5key=$(printf '%s|%s|%s' "$h5py_version" "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" \
  "$(dpkg-query -W -f='${Version}' libhdf5-dev 2>/dev/null || echo "$hdf5_dir")" | sha256sum | cut -c1-16)
h5dir="$cache/nest-mpi/h5py-$h5key"
h5wheel=$(ls "$h5dir"/h5py-*.whl 2>/dev/null | head -1 || true)
if [ -z "$h5wheel" ]; then
  echo "Building h5py $h5py_version against the system's HDF5 in $hdf5_dir (about 3 minutes; cached in $h5dir) ..."
  mkdir -p "$h5dir.tmp"
  HDF5_DIR="$hdf5_dir" "$venv/bin/pip" wheel -q --no-deps --no-cache-dir --no-binary h5py "h5py==$h5py_version" -w "$h5dir.tmp"
  rm -rf "$h5dir" && mv "$h5dir.tmp" "$h5dir"
  h5wheel=$(ls "$h5dir"/h5py-*.whl | head -1)
fi
"$venv/bin/pip" install -q --force-reinstall --no-deps "$h5wheel"
"$venv/bin/python" - <<'PY'
import nest
print("NEST", nest.build_info["version"], "have_mpi =", nest.build_info["have_mpi"], "have_hdf5 =", nest.build_info["have_hdf5"])
assert nest.build_info["have_mpi"], "the installed NEST has no MPI"
assert nest.build_info["have_hdf5"], "the installed NEST has no HDF5 (SONATA)"
PY
