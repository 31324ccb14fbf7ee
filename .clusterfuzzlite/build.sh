#!/bin/bash -eu
# ClusterFuzzLite build step: the project's OSS-Fuzz build script.
exec "$SRC/picklecodec/fuzz/oss-fuzz-build.sh"
