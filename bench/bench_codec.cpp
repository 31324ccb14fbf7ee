// The codec's benchmarks over the payload files bench/payloads.py writes.
//
//   bench_codec --payloads=DIR [google benchmark flags]
//       decode/<file>       pkl::decode of the file (bytes/s = pickle bytes)
//       decode_view/<file>  the same with DecodeOptions::bytes_as_views (bytes payloads)
//       encode/<file>       pkl::encode of the decoded graph at the file's protocol
//   bench_codec --peak=decode|decode_view|encode FILE
//       one measurement in this process, printed as JSON: the peak resident
//       memory the operation adds (VmHWM reset through /proc/self/clear_refs
//       after the input is in memory, minus the resident size then), and
//       whether encode(decode(file)) gives the file back byte for byte.
//   bench_codec --roundtrip FILE...
//       checks encode(decode(file), its protocol) == file for each file.
//   bench_codec --fd-decode=exact|ahead FILE|-
//       decodes every pickle of FILE or standard input through a Decoder
//       over FdSource(fd, may_read_ahead = false | true), as a whole process.
#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/error.hpp"

namespace {

using bench::cpu_seconds;
using bench::read_file;
using bench::status_kb;

// The protocol a pickle was written with (its PROTO opcode; 0/1 have none).
int protocol_of(const std::string& data) {
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x80) return static_cast<unsigned char>(data[1]);
  return 1;
}

pkl::EncodeOptions encode_options(int protocol) {
  pkl::EncodeOptions o;
  o.protocol = protocol;
  return o;
}

pkl::DecodeOptions options_for(bool views) {
  pkl::DecodeOptions o;
  o.bytes_as_views = views;
  return o;
}

// ---- peak memory -------------------------------------------------------------

// Resident memory from the page tables (/proc/self/smaps_rollup): all of it,
// and the part that is files (the program's code and libraries). A peak is
// VmHWM after the call minus the resident memory before it, less the file
// pages the call mapped in: code run for the first time comes in 64 KB at a
// fault (fault-around), which is not memory the call allocated, and showed
// as 128 KB "added" by a decode of a 5-byte pickle. (VmRSS is not the base:
// it comes from per-CPU counters that lag by up to 64 pages a CPU.)
struct Resident {
  long rss = 0, file = 0;
};
Resident resident() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  long rss = -1, anon = 0;
  while (std::getline(in, line)) {
    if (line.rfind("Rss:", 0) == 0) rss = std::atol(line.c_str() + 4);
    if (line.rfind("Anonymous:", 0) == 0) anon = std::atol(line.c_str() + 10);
  }
  if (rss < 0) return {status_kb("VmRSS"), 0};
  return {rss, rss - anon};
}
long peak_since(const Resident& before) {
  const long hwm = status_kb("VmHWM");
  return hwm - before.rss - (resident().file - before.file);
}

void reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

// One small decode and encode before the peak is reset, as cpython_bench.py
// warms CPython: a process's first call pays for the code and tables it
// touches (about 350 KB here), which is not memory of the graph, and which a
// Python process has paid for when it imported pickle.
void warm_up(int proto) {
  static const char kSmall[] = "\x80\x02]q\x00(K\x01X\x01\x00\x00\x00" "aq\x01G?\xf8\x00\x00\x00\x00\x00\x00}q\x02)e.";
  pkl::Graph g = pkl::decode(std::string_view(kSmall, sizeof kSmall - 1), options_for(false));
  benchmark::DoNotOptimize(pkl::encode(g, g.root(), encode_options(proto)));
}

int run_peak(const std::string& what, const std::string& path) {
  std::string data = read_file(path);
  const int proto = protocol_of(data);
  const bool views = what == "decode_view";
  std::unique_ptr<pkl::Graph> graph;
  if (what == "encode") graph = std::make_unique<pkl::Graph>(pkl::decode(data, options_for(false)));
  warm_up(proto);
  reset_peak();
  const Resident base = resident();
  const auto t0 = std::chrono::steady_clock::now();
  bool same = true;
  size_t out_size = 0;
  if (what == "encode") {
    std::string out = pkl::encode(*graph, graph->root(), encode_options(proto));
    out_size = out.size();
    same = out == data;
  } else {
    pkl::Graph g = pkl::decode(data, options_for(views));
    out_size = g.size();
    benchmark::DoNotOptimize(g.root());
    const long peak = peak_since(base);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"what\": \"%s\", \"file\": \"%s\", \"peak_kb\": %ld, \"seconds\": %.6f, \"nodes\": %zu, \"graph_bytes\": %llu}\n",
                what.c_str(), path.c_str(), peak, secs, out_size,
                static_cast<unsigned long long>(g.bytes_held()));
    return 0;
  }
  const long peak = peak_since(base);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"what\": \"%s\", \"file\": \"%s\", \"peak_kb\": %ld, \"seconds\": %.6f, \"bytes\": %zu, \"identical\": %s}\n",
              what.c_str(), path.c_str(), peak, secs, out_size, same ? "true" : "false");
  return 0;
}

int run_roundtrip(const std::vector<std::string>& files) {
  int bad = 0;
  for (const std::string& f : files) {
    const std::string data = read_file(f);
    pkl::Graph g = pkl::decode(data);
    const std::string out = pkl::encode(g, g.root(), encode_options(protocol_of(data)));
    const bool same = out == data;
    std::printf("%s %s (%zu -> %zu bytes)\n", same ? "identical" : "DIFFERENT", f.c_str(), data.size(), out.size());
    bad += !same;
  }
  return bad ? 1 : 0;
}

// ---- benchmarks ----------------------------------------------------------------

struct Payload {
  std::string name;  // file name without .pkl
  std::string data;
};

std::vector<std::string> manifest_files(const std::string& dir) {
  // The manifest is a JSON list of objects with a "file" member; the file
  // names are all this needs, so a tiny scan does without a JSON library.
  std::vector<std::string> files;
  std::string text = read_file(dir + "/manifest.json");
  const std::string key = "\"file\": \"";
  for (size_t p = text.find(key); p != std::string::npos; p = text.find(key, p)) {
    p += key.size();
    const size_t e = text.find('"', p);
    files.push_back(text.substr(p, e - p));
  }
  return files;
}

void register_all(const std::string& dir) {
  for (const std::string& file : manifest_files(dir)) {
    auto p = std::make_shared<Payload>();
    p->name = file.substr(0, file.size() - 4);
    p->data = read_file(dir + "/" + file);
    const int proto = protocol_of(p->data);
    for (const bool views : {false, true}) {
      // decode_view: DecodeOptions::bytes_as_views, for the bytes payloads.
      if (views && p->name.rfind("bytes-", 0) != 0) continue;
      const std::string name = std::string(views ? "decode_view/" : "decode/") + p->name;
      benchmark::RegisterBenchmark(name.c_str(), [p, views](benchmark::State& st) {
        const pkl::DecodeOptions o = options_for(views);
        for (auto _ : st) {
          // Timed without the graph's destruction (as CPython's side is
          // timed without freeing what loads returned).
          const double t0 = cpu_seconds();
          pkl::Graph g = pkl::decode(p->data, o);
          benchmark::DoNotOptimize(g.root());
          st.SetIterationTime(cpu_seconds() - t0);
        }
        st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(p->data.size()));
      })->Unit(benchmark::kMillisecond)->UseManualTime();
    }
    benchmark::RegisterBenchmark(("encode/" + p->name).c_str(), [p, proto](benchmark::State& st) {
      pkl::Graph g = pkl::decode(p->data);
      const pkl::EncodeOptions o = encode_options(proto);
      size_t out_size = 0;
      for (auto _ : st) {
        const double t0 = cpu_seconds();
        std::string out = pkl::encode(g, g.root(), o);
        benchmark::DoNotOptimize(out.data());
        st.SetIterationTime(cpu_seconds() - t0);
        out_size = out.size();
      }
      st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(p->data.size()));
      st.counters["out_bytes"] = static_cast<double>(out_size);
    })->Unit(benchmark::kMillisecond)->UseManualTime();
  }
}

}  // namespace

// --fd-decode=exact|ahead FILE|-: every pickle of FILE (or of standard
// input) through a Decoder over an FdSource without / with read-ahead; prints
// how many. A whole process, for bench/whole_process.py: the library's own
// cost of a file against a pipe.
int run_fd_decode(const std::string& mode, const std::string& path) {
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("can't open " + path);
  pkl::FdSource source(fd, /*may_read_ahead=*/mode == "ahead");
  pkl::Decoder decoder(source);
  size_t count = 0;
  while (auto g = decoder.next()) ++count;
  std::printf("%zu pickles\n", count);
  if (fd != 0) ::close(fd);
  return 0;
}

int main(int argc, char** argv) {
  try {
    std::string dir, peak, fd_decode;
    std::vector<std::string> rest;
    std::vector<char*> args{argv[0]};
    bool roundtrip = false;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--payloads=", 0) == 0) {
        dir = a.substr(11);
      } else if (a.rfind("--peak=", 0) == 0) {
        peak = a.substr(7);
      } else if (a.rfind("--fd-decode=", 0) == 0) {
        fd_decode = a.substr(12);
      } else if (a == "--roundtrip") {
        roundtrip = true;
      } else if (a.rfind("--benchmark", 0) == 0 || a.rfind("--v=", 0) == 0) {
        args.push_back(argv[i]);
      } else {
        rest.push_back(a);
      }
    }
    if (!peak.empty()) {
      if (rest.size() != 1) throw std::runtime_error("--peak takes one file");
      return run_peak(peak, rest[0]);
    }
    if (roundtrip) return run_roundtrip(rest);
    if (!fd_decode.empty()) {
      if (rest.size() != 1 || (fd_decode != "exact" && fd_decode != "ahead"))
        throw std::runtime_error("usage: --fd-decode=exact|ahead FILE|-");
      return run_fd_decode(fd_decode, rest[0]);
    }
    if (dir.empty()) throw std::runtime_error("usage: bench_codec --payloads=DIR [benchmark flags]");
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    register_all(dir);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_codec: " << e.what() << "\n";
    return 2;
  }
}
