#!/usr/bin/env bash
# Installs the build into a scratch prefix and checks what a user gets there: the command
# (bin/gpumem, which checks an installed example configuration), the shim
# (lib/libgpumem_preload.so, which serves the installed command's CUDA calls), the headers and
# the CMake package (tests/package/consumer builds against it with find_package(gpumem) and
# runs).
set -euo pipefail
build_dir=$1 source_dir=$2 scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch"
prefix=$scratch/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=lib
[[ -d $prefix/lib64 && ! -d $prefix/lib ]] && libdir=lib64
for installed in bin/gpumem "$libdir/libgpumem_preload.so" include/gpumem/mr/pool_memory_resource.hpp \
                 include/rmm/mr/pool_memory_resource.hpp share/gpumem/config/pool.toml \
                 "$libdir/cmake/gpumem/gpumemConfig.cmake"; do
  [[ -e $prefix/$installed ]] || { echo "installed package: $installed is missing"; exit 1; }
done
"$prefix/bin/gpumem" --version
"$prefix/bin/gpumem" check "$prefix/share/gpumem/config/pool.toml" >/dev/null ||
  { echo "installed package: gpumem check rejects the installed pool.toml"; exit 1; }
cmake -S "$source_dir/tests/package/consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/build" >/dev/null
"$scratch/build/consumer"
# The installed shim under the consumer: it loads and serves (its report names the stack).
LD_PRELOAD="$prefix/$libdir/libgpumem_preload.so" GPUMEM_REPORT=text \
  GPUMEM_CONFIG="$prefix/share/gpumem/config/pool.toml" "$scratch/build/consumer" 2>&1 |
  grep -E "^gpumem:   device 0: .*stack " || { echo "installed package: the installed shim did not report"; exit 1; }
