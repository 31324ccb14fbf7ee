// A main() for the fuzz targets when no fuzzing engine is linked (g++, or
// clang without -fsanitize=fuzzer): runs LLVMFuzzerTestOneInput once over
// every file named on the command line, directories recursively, in sorted
// order. This is how ctest replays the corpus.
//
//   fuzz_decode [-mutate_runs=N] [-v] PATH...
//
// Files ending in .txt or .md are skipped (the sidecars and READMEs of
// corpus/regressions/). Other arguments starting with '-' are libFuzzer
// flags and are ignored, so a reproduction command works with either build.
// -mutate_runs=N: when the target has a custom mutator, also run N mutants
// of each input through it (exercises the mutator without libFuzzer).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" __attribute__((weak)) size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size,
                                                                 size_t max_size, unsigned int seed);

// libFuzzer's own mutator, for custom mutators that fall back to it: here a
// few random byte edits, enough to exercise the fallback path.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) {
  static uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  switch (next() % 3) {
    case 0:
      if (size > 0) data[next() % size] = static_cast<uint8_t>(next());
      break;
    case 1:
      if (size < max_size) data[size++] = static_cast<uint8_t>(next());
      break;
    default:
      if (size > 0) --size;
      break;
  }
  return size;
}

namespace fs = std::filesystem;

namespace {

bool skipped(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".txt" || ext == ".md";
}

void collect(const fs::path& p, std::vector<fs::path>& out) {
  if (fs::is_directory(p)) {
    std::vector<fs::path> here;
    for (const auto& e : fs::recursive_directory_iterator(p))
      if (e.is_regular_file() && !skipped(e.path())) here.push_back(e.path());
    std::sort(here.begin(), here.end());
    out.insert(out.end(), here.begin(), here.end());
  } else if (fs::exists(p)) {
    out.push_back(p);
  } else {
    std::fprintf(stderr, "standalone: no such file or directory: %s\n", p.c_str());
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  bool verbose = false;
  long mutate_runs = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-v") == 0) {
      verbose = true;
    } else if (std::strncmp(argv[i], "-mutate_runs=", 13) == 0) {
      mutate_runs = std::strtol(argv[i] + 13, nullptr, 10);
    } else if (argv[i][0] == '-') {
      // a libFuzzer flag: ignored
    } else {
      collect(argv[i], files);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s [-mutate_runs=N] [-v] FILE|DIR...\n", argv[0]);
    return 2;
  }
  size_t runs = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (verbose) std::fprintf(stderr, "running %s (%zu bytes)\n", f.c_str(), data.size());
    // A copy of exactly the input's size, so ASan sees reads past its end.
    std::vector<uint8_t> copy(data);
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
    ++runs;
    if (LLVMFuzzerCustomMutator && mutate_runs > 0) {
      const size_t max_size = std::max<size_t>(data.size() * 2, 4096);
      std::vector<uint8_t> buf(data);
      for (long r = 0; r < mutate_runs; ++r) {
        const size_t len = std::min(buf.size(), max_size);
        buf.resize(max_size);
        size_t n = LLVMFuzzerCustomMutator(buf.data(), len, max_size,
                                           static_cast<unsigned>(runs * 7919 + static_cast<size_t>(r)));
        if (n > max_size) {
          std::fprintf(stderr, "standalone: custom mutator returned %zu > max %zu\n", n, max_size);
          std::abort();
        }
        std::vector<uint8_t> mutant(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        LLVMFuzzerTestOneInput(mutant.data(), mutant.size());
        ++runs;
        if (r % 4 == 3) buf = data;  // start again from the seed now and then
        else buf = std::move(mutant);
      }
    }
  }
  std::printf("%s: replayed %zu inputs (%zu files), no failure\n", argv[0], runs, files.size());
  return 0;
}
