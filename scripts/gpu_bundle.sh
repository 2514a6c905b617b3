#!/usr/bin/env bash
# Copies the build dependencies that the GPU check machine lacks (it has nvcc, cmake, ninja and g++, but
# no protobuf, CLI11, nlohmann-json, stb, Catch2 or Boost.Context, and no package registry) from this machine's Debian
# packages into .gpu_deps/ (git-ignored), laid out as an install prefix so that
#   cmake -DCMAKE_PREFIX_PATH=$PWD/.gpu_deps -DProtobuf_USE_STATIC_LIBS=ON ...
# finds all of them:
#   include/{google/protobuf,CLI,nlohmann,stb,catch2}   headers (protobuf's well-known .proto files too)
#   lib/libprotobuf.a                                   protobuf linked statically into the binaries
#   include/{zlib,zconf}.h, lib/libz.a                  zlib (compressed TFRecords), linked statically
#   include/j{peglib,morecfg,error,config}.h,           libjpeg-turbo (JPEG decoding), linked statically
#     lib/libjpeg.a
#   lib/libCatch2WithMain.a, lib/cmake/Catch2/          Catch2 v2's CMake package (Catch.cmake etc.)
#   include/boost/..., lib/libboost_context.a           Boost.Context for the emulated device: only the
#                                                       headers kernels/cuda/emu/block_runner.cc includes
#   share/cmake/{CLI11,nlohmann_json}/                  their CMake packages (prefix-relative paths)
#   bin/protoc                                          a wrapper that runs protoc with its own shared
#   libexec/protoc/{protoc,lib*.so.*}                   libraries (libprotoc, libprotobuf, libz)
# Run here, then pass carry [".gpu_deps"] to the device run (see scripts/gpu_check.sh).
# Usage: bash scripts/gpu_bundle.sh [dest]    (default .gpu_deps in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.gpu_deps}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libdir=/usr/lib/$multiarch

need() { [ -e "$1" ] || { echo "gpu_bundle: missing $1" >&2; echo "HINT: run scripts/setup.sh (apt packages libprotobuf-dev protobuf-compiler libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev libjpeg62-turbo-dev catch2 libboost-context-dev)" >&2; exit 1; }; }
for path in /usr/include/google/protobuf /usr/include/CLI /usr/include/nlohmann /usr/include/stb \
            /usr/include/catch2 $libdir/libprotobuf.a /usr/bin/protoc /usr/share/cmake/CLI11 \
            /usr/share/cmake/nlohmann_json /usr/lib/cmake/Catch2 /usr/lib/libCatch2WithMain.a \
            /usr/include/boost/context/fiber.hpp $libdir/libboost_context.a \
            /usr/include/zlib.h /usr/include/zconf.h $libdir/libz.a /usr/include/jpeglib.h \
            /usr/include/jmorecfg.h /usr/include/jerror.h /usr/include/$multiarch/jconfig.h $libdir/libjpeg.a; do
  need "$path"
done

rm -rf "$dest"
mkdir -p "$dest"/{include/google,lib/cmake,share/cmake,bin,libexec/protoc}

cp -r /usr/include/google/protobuf "$dest/include/google/"
cp -r /usr/include/CLI /usr/include/nlohmann /usr/include/stb /usr/include/catch2 "$dest/include/"
cp "$libdir/libprotobuf.a" "$dest/lib/"
cp /usr/lib/libCatch2WithMain.a "$dest/lib/"
cp -r /usr/lib/cmake/Catch2 "$dest/lib/cmake/"
cp -r /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$dest/share/cmake/"

# zlib and libjpeg-turbo: the headers (libjpeg's jconfig.h sits in the multiarch folder) and the static
# libraries, which CMake's FindZLIB and FindJPEG find through CMAKE_PREFIX_PATH, whatever the device
# machine has installed itself.
cp /usr/include/zlib.h /usr/include/zconf.h /usr/include/jpeglib.h /usr/include/jmorecfg.h \
   /usr/include/jerror.h "/usr/include/$multiarch/jconfig.h" "$dest/include/"
cp "$libdir/libz.a" "$libdir/libjpeg.a" "$dest/lib/"

# Boost.Context: the static library and the Boost headers the emulator's fiber code includes.
cp "$libdir/libboost_context.a" "$dest/lib/"
g++ -std=c++20 -M -I. kernels/cuda/emu/block_runner.cc | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u \
  | while read -r header; do
      mkdir -p "$dest/include/$(dirname "${header#/usr/include/}")"
      cp "$header" "$dest/include/${header#/usr/include/}"
    done

# protoc and the shared libraries it loads (resolved through symlinks to the real files).
cp /usr/bin/protoc "$dest/libexec/protoc/protoc"
for lib in $(ldd /usr/bin/protoc | awk '/libprotoc|libprotobuf|libz\./ {print $3}'); do
  cp -L "$lib" "$dest/libexec/protoc/$(basename "$lib")"
done
cat > "$dest/bin/protoc" <<'WRAP'
#!/bin/sh
# protoc from the bundle, with its own libprotoc/libprotobuf/libz.
here=$(cd "$(dirname "$0")/../libexec/protoc" && pwd)
LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/protoc" "$@"
WRAP
chmod +x "$dest/bin/protoc" "$dest/libexec/protoc/protoc"

# Record where it came from.
{
  echo "bundled $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(. /etc/os-release && echo "$PRETTY_NAME")"
  dpkg-query -W -f='${Package} ${Version}\n' libprotobuf-dev protobuf-compiler libcli11-dev nlohmann-json3-dev \
    libstb-dev zlib1g-dev libjpeg62-turbo-dev catch2 libboost-context-dev 2>/dev/null || true
} > "$dest/VERSIONS"

"$dest/bin/protoc" --version >/dev/null
echo "gpu_bundle: $(du -sh "$dest" | cut -f1) in $dest ($("$dest/bin/protoc" --version))"

# What travels to the device: the tracked files, the untracked ones git does not ignore, and the bundle;
# the limit is 64 MiB.
travel_bytes=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } \
  | xargs -0 -r stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
travel_bytes=$(( travel_bytes + $(du -sb "$dest" | cut -f1) ))
echo "gpu_bundle: the device call carries $(( travel_bytes / 1048576 )) MiB (tree + $dest; the limit is 64 MiB)"
if [ "$travel_bytes" -gt $(( 60 * 1048576 )) ]; then
  echo "gpu_bundle: WARNING: that is close to or over the 64 MiB limit" >&2
  echo "HINT: git-ignore large untracked files (git ls-files --others --exclude-standard lists them)" >&2
fi
