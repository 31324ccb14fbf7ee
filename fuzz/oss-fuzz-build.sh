#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build: every fuzz target into $OUT, each with
# <target>_seed_corpus.zip, <target>.dict and <target>.options beside it.
# Uses the environment OSS-Fuzz sets: $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE $OUT (and $SRC, $WORK when present).
# Run locally with ci/check-oss-fuzz-build.
src=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
build="$work/picklecodec-build"

: "${CC:?} ${CXX:?} ${CXXFLAGS?} ${LIB_FUZZING_ENGINE:?} ${OUT:?}"
cmake -S "$src" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DPICKLECODEC_FUZZ=ON -DPICKLECODEC_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DPICKLECODEC_TESTS=OFF -DPICKLECODEC_TOOLS=OFF -DPICKLECODEC_PROPERTY=OFF \
  -DPICKLECODEC_EXAMPLES=OFF -DPICKLECODEC_BENCH=OFF -DPICKLECODEC_WERROR=OFF
cmake --build "$build" -j "$(nproc)" --target fuzz/all

targets=(fuzz_decode fuzz_stream fuzz_recode fuzz_structured fuzz_tools fuzz_diff_cpython)
for t in "${targets[@]}"; do
  [ -x "$build/bin/$t" ] || { echo "oss-fuzz-build: $t not built, skipped"; continue; }
  cp "$build/bin/$t" "$OUT/"
  cp "$src/fuzz/pickle.dict" "$OUT/$t.dict"
  if [ -f "$src/fuzz/$t.options" ]; then
    # OSS-Fuzz names the dictionary in the options file.
    { cat "$src/fuzz/$t.options"; } | sed "/^\[libfuzzer\]/a dict = $t.dict" > "$OUT/$t.options"
  fi
  # Seeds: the target's corpus, the oracle's seeds and every regression input.
  rm -f "$OUT/${t}_seed_corpus.zip"
  seeds=()
  for d in "$src/corpus/$t" "$src/corpus/seeds" "$src/corpus/regressions"; do
    [ -d "$d" ] && seeds+=("$d")
  done
  if [ ${#seeds[@]} -gt 0 ]; then
    # Named by content (as libFuzzer names corpus files): unique, duplicates dropped.
    flat="$work/seeds-$t"
    rm -rf "$flat" && mkdir -p "$flat"
    find "${seeds[@]}" -type f ! -name '*.txt' ! -name '*.md' -print0 |
      while IFS= read -r -d '' f; do cp "$f" "$flat/$(sha1sum < "$f" | cut -c1-40)"; done
    (cd "$flat" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
done
# fuzz_diff_cpython imports fuzz/diff_cpython.py and oracle/ from the source tree it was built from.
