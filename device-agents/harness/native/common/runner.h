// What ort-runner and ptl-runner share: the runner protocol's command line, the timed loop, the
// memory readings and the error line. Header-only, standard C++ and POSIX: each runner links only
// its own runtime, and the sources build unchanged with the Android NDK.
//
// Command line (both runners): --model PATH --threads N --warmup N --iterations N
//   --min-duration-ms N --input SPEC [--input ...] --output-index I --output-file PATH
//   [--fidelity-count N --fidelity-input FILE [...] --fidelity-output PATH] plus the runner's own
//   options; each runner parses its --input SPEC (ptl: FILE:DTYPE:SHAPE, ort: NAME=FILE:DTYPE:SHAPE).
#pragma once
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pb {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

inline std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

/** The runner protocol's error line (exit 2). Messages are cut at 2000 bytes. */
[[noreturn]] inline void fail(const std::string& cls, const std::string& message) {
  std::cout << "{\"status\":\"error\",\"errorClass\":\"" << json_escape(cls) << "\",\"message\":\"" << json_escape(message.substr(0, 2000))
            << "\"}" << std::endl;
  std::exit(2);
}

/** The runner protocol's unsupported line (exit 3): a fact about this device or build, with why. */
[[noreturn]] inline void unsupported(const std::string& reason) {
  std::cout << "{\"status\":\"unsupported\",\"reason\":\"" << json_escape(reason.substr(0, 2000)) << "\"}" << std::endl;
  std::exit(3);
}

/** A crashing model must not leave a core file on the device. */
inline void no_core_dumps() {
  struct rlimit no_core {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
}

inline long status_kb(const char* file, const std::string& key) {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size())) * 1024;
  }
  return -1;
}

/** Peak resident set (VmHWM) of this process, bytes; -1 when /proc does not say. */
inline long peak_rss_bytes() { return status_kb("/proc/self/status", "VmHWM:"); }

/**
 * Proportional set size of this process (Android's own measure of an app's memory), where the
 * kernel offers smaps_rollup (Linux >= 4.14); -1 when it does not.
 */
inline long pss_bytes() { return status_kb("/proc/self/smaps_rollup", "Pss:"); }

/** D0xD1x... */
inline std::vector<int64_t> parse_shape(const std::string& s) {
  std::vector<int64_t> shape;
  std::stringstream dims(s);
  std::string d;
  while (std::getline(dims, d, 'x')) shape.push_back(std::stoll(d));
  return shape;
}

/** An --input's FILE:DTYPE:SHAPE (after ort's NAME=), split at the last two colons. */
struct InputSpec {
  std::string file, dtype;
  std::vector<int64_t> shape;
};

inline InputSpec split_input(const std::string& arg, const std::string& form) {
  auto a = arg.rfind(':');
  auto b = a == std::string::npos || a == 0 ? std::string::npos : arg.rfind(':', a - 1);
  if (a == std::string::npos || b == std::string::npos) fail("bad_spec", "--input must be " + form + ", got '" + arg + "'");
  try {
    return {arg.substr(0, b), arg.substr(b + 1, a - b - 1), parse_shape(arg.substr(a + 1))};
  } catch (const std::logic_error&) {
    fail("bad_spec", "--input must be " + form + ", got '" + arg + "'");
  }
}

struct RunnerArgs {
  std::string model, output_file, fidelity_output;
  int threads = 1, warmup = 0, iterations = 1, output_index = 0, fidelity_count = 0;
  double min_duration_ms = 0;
  std::vector<std::string> inputs, fidelity_inputs;
  /** The runner's own options (`--backend`…), by name. */
  std::map<std::string, std::string> extra;
};

/** Parses the shared command line; `extra` names the runner's own options. Bad input fails bad_spec. */
inline RunnerArgs parse_runner_args(int argc, char** argv, const std::set<std::string>& extra) {
  RunnerArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) fail("bad_spec", "missing value for " + k);
    std::string v = argv[++i];
    try {
      if (k == "--model") a.model = v;
      else if (k == "--threads") a.threads = std::stoi(v);
      else if (k == "--warmup") a.warmup = std::stoi(v);
      else if (k == "--iterations") a.iterations = std::stoi(v);
      else if (k == "--min-duration-ms") a.min_duration_ms = std::stod(v);
      else if (k == "--input") a.inputs.push_back(v);
      else if (k == "--output-index") a.output_index = std::stoi(v);
      else if (k == "--output-file") a.output_file = v;
      else if (k == "--fidelity-count") a.fidelity_count = std::stoi(v);
      else if (k == "--fidelity-input") a.fidelity_inputs.push_back(v);
      else if (k == "--fidelity-output") a.fidelity_output = v;
      else if (extra.count(k.substr(2)) && k.rfind("--", 0) == 0) a.extra[k.substr(2)] = v;
      else fail("bad_spec", "unknown argument " + k);
    } catch (const std::logic_error&) {
      fail("bad_spec", "bad value '" + v + "' for " + k);
    }
  }
  if (a.model.empty()) fail("bad_spec", "--model is required");
  if (a.threads < 1 || a.iterations < 1 || a.warmup < 0) fail("bad_spec", "threads and iterations must be >= 1, warmup >= 0");
  if (a.fidelity_count < 0 || (a.fidelity_count > 0 && (a.fidelity_inputs.size() != a.inputs.size() || a.fidelity_output.empty())))
    fail("bad_spec", "a fidelity pass needs --fidelity-count >= 1, one --fidelity-input per --input and --fidelity-output");
  return a;
}

struct Timing {
  double first_ms = 0;
  std::vector<double> iterations_us;
};

/**
 * The measurement: `first()` is the first inference (timed alone, and a warmup iteration), then
 * warmup - 1 more, then timed iterations until both `iterations` and `min_duration_ms` are
 * reached. Each timed `run()`'s result is dropped at once, as a bare loop does. Templates, so
 * the timed call is the runtime's own with nothing in between.
 */
template <class First, class Run>
Timing timed_loop(const RunnerArgs& a, First&& first, Run&& run) {
  Timing t;
  auto t1 = Clock::now();
  first();
  t.first_ms = ms_since(t1);
  for (int i = 1; i < a.warmup; ++i) run();
  t.iterations_us.reserve(static_cast<size_t>(a.iterations));
  double timed_ms = 0;
  while (static_cast<int>(t.iterations_us.size()) < a.iterations || timed_ms < a.min_duration_ms) {
    auto s = Clock::now();
    run();
    double us = std::chrono::duration<double, std::micro>(Clock::now() - s).count();
    t.iterations_us.push_back(us);
    timed_ms += us / 1000.0;
  }
  return t;
}

}  // namespace pb
