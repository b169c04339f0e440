#!/bin/sh
# Builds the libFuzzer harnesses (not part of the CMake build or CI).
# Usage: tests/fuzz/build.sh [OUTDIR]   (default: build-fuzz). Needs clang++-14 (libFuzzer),
# antlr4, and the libraries of the normal build. One compiler at a time.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mkdir -p "${1:-$SRC/build-fuzz}" && cd "${1:-$SRC/build-fuzz}" && pwd)
CXX=${CXX:-clang++-14}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
FLAGS="-std=c++20 -g -O1 $SAN -fsanitize=fuzzer-no-link"
GEN=$OUT/generated
ANTLR_INC=$OUT/antlr4-runtime

# 0. clang rejects one header of the ANTLR 4.7.2 runtime (an inline default constructor of
#    InterpreterData that cannot be defined; GCC never instantiates it). Use a patched copy.
if [ ! -d "$ANTLR_INC" ]; then
  cp -r /usr/include/antlr4-runtime "$ANTLR_INC"
  sed -i 's|InterpreterData() {}; // For invalid content.|InterpreterData() = delete;|' \
    "$ANTLR_INC/misc/InterpreterDataReader.h"
fi

# 1. The parser, generated from the grammar exactly as CMakeLists.txt does.
if [ ! -f "$GEN/CribleParser.cpp" ] || [ "$SRC/grammar/Crible.g4" -nt "$GEN/CribleParser.cpp" ]; then
  antlr4 -Dlanguage=Cpp -visitor -no-listener -package crible_gen -o "$GEN" -Xexact-output-dir \
    "$SRC/grammar/Crible.g4"
fi

# 2. Objects: the generated parser and the stages the harnesses reach.
mkdir -p "$OUT/obj"
OBJS=""
# An object is rebuilt when it is missing or older than its source or than any header the
# source included when it was last compiled (listed by -MMD in OBJECT.d): a header changed
# since would otherwise leave objects built against its old version beside new ones.
stale() {  # object
  [ -f "$1" ] && [ -f "$1.d" ] || return 0
  for dep in $(sed 's/^[^:]*://; s/\\$//' "$1.d"); do
    [ "$dep" -nt "$1" ] && return 0
  done
  return 1
}
compile() {  # source, extra flags
  o="$OUT/obj/$(echo "$1" | sed "s|$SRC/||; s|$OUT/||; s|/|_|g").o"
  if stale "$o"; then
    echo "compiling $1"
    $CXX $FLAGS $2 -MMD -MF "$o.d" -c "$1" -o "$o"
  fi
  OBJS="$OBJS $o"
}
for f in "$GEN"/Crible*.cpp; do compile "$f" "-w -fno-char8_t -I$GEN -I$ANTLR_INC"; done
# Not base/large_pages.cpp: it is the programs' allocation policy, linked into executables
# only (as in CMakeLists.txt), and the fuzzers keep the sanitizer runtime's allocator.
for f in $(find "$SRC/engine/base" "$SRC/engine/syntax" "$SRC/engine/check" "$SRC/engine/data" \
             -name '*.cpp' ! -name large_pages.cpp | sort); do
  compile "$f" "-I$SRC/engine -I$GEN -I$ANTLR_INC -DCRIBLE_VERSION=\"fuzz\""
done

# 3. The harnesses.
for h in rules csv; do
  echo "linking $OUT/${h}_fuzzer"
  $CXX -std=c++20 -g -O1 $SAN -fsanitize=fuzzer -I"$SRC/engine" \
    -DCRIBLE_FUZZ_DEFAULT_RULES="\"$SRC/rules/mali-2019.rules\"" \
    "$SRC/tests/fuzz/${h}_fuzzer.cpp" $OBJS -o "$OUT/${h}_fuzzer" \
    -lantlr4-runtime -lfmt -lpthread
done

# 4. The store harness runs the commands themselves (cli/, all but main.cpp) on the whole
#    engine: the rest of the stages, then the commands.
for f in $(find "$SRC/engine" -name '*.cpp' ! -name large_pages.cpp \
             ! -path "$SRC/engine/base/*" ! -path "$SRC/engine/syntax/*" \
             ! -path "$SRC/engine/check/*" ! -path "$SRC/engine/data/*" | sort); do
  compile "$f" "-I$SRC/engine -I$GEN -I$ANTLR_INC -DCRIBLE_VERSION=\"fuzz\""
done
for f in $(find "$SRC/cli" -name '*.cpp' ! -name main.cpp | sort); do
  compile "$f" "-I$SRC -I$SRC/engine -DCRIBLE_VERSION=\"fuzz\""
done
echo "linking $OUT/store_fuzzer"
$CXX -std=c++20 -g -O1 $SAN -fsanitize=fuzzer -I"$SRC" -I"$SRC/engine" \
  -DCRIBLE_FUZZ_SOURCE_DIR="\"$SRC\"" -DCRIBLE_VERSION="\"fuzz\"" \
  "$SRC/tests/fuzz/store_fuzzer.cpp" $OBJS -o "$OUT/store_fuzzer" \
  -lantlr4-runtime -lfmt -lsqlite3 -lcrypto -lpthread

# 5. The eval harness: plan, eval and render through the engine's API, as cli/compile.cpp
#    wires them (the cli/ objects are linked, unused, with the rest).
echo "linking $OUT/eval_fuzzer"
$CXX -std=c++20 -g -O1 $SAN -fsanitize=fuzzer -I"$SRC/engine" \
  -DCRIBLE_FUZZ_SOURCE_DIR="\"$SRC\"" \
  "$SRC/tests/fuzz/eval_fuzzer.cpp" $OBJS -o "$OUT/eval_fuzzer" \
  -lantlr4-runtime -lfmt -lsqlite3 -lcrypto -lpthread
