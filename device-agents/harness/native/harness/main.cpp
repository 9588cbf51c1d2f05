// pocketbench-harness (native): the supervisor of the self-contained harness bundle.
// Same contract as the Node reference harness (device-agents/harness/src/run-session.ts):
// one BenchSpec in, one BenchReport out, for every spec, within the spec's time budget. It
// runs with nothing installed on the device (the bundle brings its own loader and libraries),
// so it also works from an Android `adb shell` and on boards without Node.
//
//   pocketbench-harness run --spec SPEC.json|- [--out REPORT.json]   exit 0 ok, 2 error, 3 unsupported, 64 usage
//   pocketbench-harness probe                                        runtimes and backends here (JSON)
//   pocketbench-harness --version
//
// Environment (set by the bundle's sh entry): PB_BUNDLE (bundle root: bin/ holds the runners),
// PB_LOADER (the bundle's ld-linux; runners are started through it with --library-path
// PB_BUNDLE/lib), PB_HARNESS_VERSION, TMPDIR (scratch; default PB_BUNDLE/tmp).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../common/sha256.h"

extern char** environ;

namespace {

using nlohmann::ordered_json;
using json = nlohmann::ordered_json;

const char* kHarnessName = "pocketbench-native-harness";

struct Failure {
  std::string cls, message;
};
struct Unsupported {
  std::string reason;
};

std::string env_or(const char* k, const std::string& d) {
  const char* v = std::getenv(k);
  return v && *v ? v : d;
}

std::string iso_now() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(tv.tv_usec / 1000));
  return out;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\0')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string read_trimmed(const std::string& path) {
  std::string s;
  return read_text(path, s) ? trim(s) : "";
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  return out;
}

bool all_digits(const std::string& s, bool allow_minus = false) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(s[i])) || (allow_minus && i == 0 && s[i] == '-'))) return false;
  return true;
}

// --- device state and host facts (sysfs/procfs; absent facts stay empty, never invented) ---

json device_snapshot() {
  json s;
  s["takenAt"] = iso_now();
  json zones = json::object();
  auto names = list_dir("/sys/class/thermal");
  std::sort(names.begin(), names.end());
  for (const auto& z : names) {
    if (z.rfind("thermal_zone", 0) != 0) continue;
    std::string milli = read_trimmed("/sys/class/thermal/" + z + "/temp");
    if (!all_digits(milli, true)) continue;
    std::string type = read_trimmed("/sys/class/thermal/" + z + "/type");
    if (type.empty()) type = z;
    if (zones.contains(type)) type += "." + z;
    zones[type] = std::stod(milli) / 1000.0;
  }
  s["thermalZones"] = zones;
  std::vector<int> cpus;
  for (const auto& c : list_dir("/sys/devices/system/cpu"))
    if (c.size() > 3 && c.rfind("cpu", 0) == 0 && all_digits(c.substr(3))) cpus.push_back(std::stoi(c.substr(3)));
  std::sort(cpus.begin(), cpus.end());
  json freqs = json::array();
  for (int c : cpus) {
    std::string f = read_trimmed("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_cur_freq");
    if (all_digits(f)) freqs.push_back(std::stoll(f));
  }
  s["cpuFreqKhz"] = freqs;
  std::string gov = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  s["governor"] = gov.empty() ? json(nullptr) : json(gov);
  double l[3] = {0, 0, 0};
  std::string la = read_trimmed("/proc/loadavg");
  if (!la.empty()) std::sscanf(la.c_str(), "%lf %lf %lf", &l[0], &l[1], &l[2]);
  s["loadAvg"] = {l[0], l[1], l[2]};
  std::string mem;
  if (read_text("/proc/meminfo", mem)) {
    auto p = mem.find("MemAvailable:");
    if (p != std::string::npos) s["memAvailableBytes"] = std::stoll(mem.substr(p + 13)) * 1024;
  }
  // Phones: the battery's charge (sysfs; `dumpsys` is not reachable from a plain shell user).
  for (const char* b : {"/sys/class/power_supply/battery/capacity", "/sys/class/power_supply/BAT0/capacity"}) {
    std::string cap = read_trimmed(b);
    if (all_digits(cap)) {
      s["batteryPct"] = std::min(100, std::stoi(cap));
      break;
    }
  }
  return s;
}

std::string cpuinfo_field(const std::string& cpuinfo, const std::string& key) {
  std::istringstream in(cpuinfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = trim(line.substr(0, colon));
    if (k == key) return trim(line.substr(colon + 1));
  }
  return "";
}

json host_facts() {
  struct utsname u;
  uname(&u);
  std::string cpuinfo;
  read_text("/proc/cpuinfo", cpuinfo);
  std::string model = cpuinfo_field(cpuinfo, "model name");
  if (model.empty()) model = cpuinfo_field(cpuinfo, "Hardware");
  if (model.empty()) {
    static const std::map<std::string, std::string> parts = {
        {"0xd03", "Cortex-A53"}, {"0xd04", "Cortex-A35"}, {"0xd05", "Cortex-A55"}, {"0xd07", "Cortex-A57"}, {"0xd08", "Cortex-A72"},
        {"0xd09", "Cortex-A73"}, {"0xd0a", "Cortex-A75"}, {"0xd0b", "Cortex-A76"}, {"0xd0c", "Neoverse-N1"}, {"0xd0d", "Cortex-A77"},
        {"0xd41", "Cortex-A78"}, {"0xd44", "Cortex-X1"}, {"0xd46", "Cortex-A510"}, {"0xd47", "Cortex-A710"}, {"0xd48", "Cortex-X2"}};
    std::string part = cpuinfo_field(cpuinfo, "CPU part");
    if (!part.empty()) {
      auto it = parts.find(part);
      model = (cpuinfo_field(cpuinfo, "CPU implementer") == "0x41" ? "ARM " : "") + (it != parts.end() ? it->second : "part " + part);
    }
  }
  if (model.empty()) model = "unknown";
  std::string os;
  std::string rel;
  if (read_text("/etc/os-release", rel)) {
    auto p = rel.find("PRETTY_NAME=");
    if (p != std::string::npos) {
      os = rel.substr(p + 12, rel.find('\n', p) - p - 12);
      os.erase(std::remove(os.begin(), os.end(), '"'), os.end());
    }
  }
  std::string prop;
  if (os.empty() && read_text("/system/build.prop", prop)) {
    auto p = prop.find("ro.build.version.release=");
    os = "Android" + (p == std::string::npos ? std::string() : " " + trim(prop.substr(p + 25, prop.find('\n', p) - p - 25)));
  }
  if (os.empty()) os = std::string(u.sysname) + " " + u.release;
  json h;
  h["arch"] = u.machine;
  h["cpuModel"] = model;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  h["cores"] = cores > 0 ? cores : 1;
  h["kernel"] = u.release;
  h["os"] = os;
  std::string mem;
  if (read_text("/proc/meminfo", mem)) {
    auto p = mem.find("MemTotal:");
    if (p != std::string::npos) h["memoryBytes"] = std::stoll(mem.substr(p + 9)) * 1024;
  }
  return h;
}

// --- spec validation (the schema's rules, each problem named by its field) ---

void check_fields(const json& obj, const std::string& where, const std::vector<std::string>& allowed, std::vector<std::string>& errs) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) errs.push_back(where + ": unknown field '" + it.key() + "'");
}

bool is_int(const json& v) { return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()); }

void need_int(const json& s, const char* k, long long lo, long long hi, std::vector<std::string>& errs, bool required = true) {
  if (!s.contains(k)) {
    if (required) errs.push_back(std::string("/: missing required field '") + k + "'");
    return;
  }
  const auto& v = s[k];
  if (!v.is_number() || !is_int(v) || v.get<double>() < lo || v.get<double>() > hi)
    errs.push_back(std::string("/") + k + ": must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
}

bool one_of(const json& v, std::initializer_list<const char*> xs) {
  if (!v.is_string()) return false;
  for (auto x : xs)
    if (v.get<std::string>() == x) return true;
  return false;
}

std::vector<std::string> validate_spec(const json& s) {
  std::vector<std::string> errs;
  if (!s.is_object()) return {"/: must be an object"};
  check_fields(s, "/", {"specVersion", "artifact", "runtime", "backend", "threads", "warmup", "iterations", "minDurationMs", "seed", "inputs", "output", "fidelity", "timeBudgetSec", "labels"}, errs);
  if (s.contains("fidelity") && !s["fidelity"].is_object()) errs.push_back("/fidelity: must be an object");
  if (s.contains("fidelity") && s["fidelity"].is_object()) {
    const auto& f = s["fidelity"];
    check_fields(f, "/fidelity", {"inputs", "seed", "evalSet", "reference", "outputsPath"}, errs);
    for (auto [k, hi] : {std::pair<const char*, double>{"inputs", 100000}, {"seed", 4294967295.0}})
      if (f.contains(k) && (!f[k].is_number() || !is_int(f[k]) || f[k].get<double>() < 0 || f[k].get<double>() > hi))
        errs.push_back(std::string("/fidelity/") + k + ": must be an integer from 0 to " + std::to_string(static_cast<long long>(hi)));
    if (f.contains("outputsPath") && (!f["outputsPath"].is_string() || f["outputsPath"].get<std::string>().empty())) errs.push_back("/fidelity/outputsPath: must be a non-empty string");
    if (f.contains("reference")) {
      const auto& r = f["reference"];
      bool ok = r.is_object() && r.contains("path") && r["path"].is_string() && r.contains("sha256") && r["sha256"].is_string() && r.contains("outputs") && r["outputs"].is_array() &&
                !r["outputs"].empty();
      if (ok)
        for (const auto& o : r["outputs"]) {
          ok = ok && o.is_object() && o.contains("shape") && o["shape"].is_array();
          if (ok)
            for (const auto& d : o["shape"]) ok = ok && is_int(d) && d.get<double>() >= 1;
        }
      if (!ok) errs.push_back("/fidelity/reference: must be an object with path, sha256 and outputs (each with a shape of positive integers)");
    }
  }
  if (!s.contains("specVersion") || !s["specVersion"].is_number() || s["specVersion"].get<double>() != 1) errs.push_back("/specVersion: must be 1");
  if (!s.contains("artifact") || !s["artifact"].is_object()) {
    errs.push_back("/artifact: must be an object with path, sha256, format");
  } else {
    const auto& a = s["artifact"];
    check_fields(a, "/artifact", {"path", "sha256", "format"}, errs);
    if (!a.contains("path") || !a["path"].is_string() || a["path"].get<std::string>().empty()) errs.push_back("/artifact/path: must be a non-empty string");
    bool hex = a.contains("sha256") && a["sha256"].is_string() && a["sha256"].get<std::string>().size() == 64;
    if (hex)
      for (char c : a["sha256"].get<std::string>()) hex = hex && (std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'));
    if (!hex) errs.push_back("/artifact/sha256: must be 64 lower-case hex digits");
    if (!a.contains("format") || !one_of(a["format"], {"ptl", "onnx", "tflite", "pte"})) errs.push_back("/artifact/format: must be one of ptl, onnx, tflite, pte");
  }
  if (!s.contains("runtime") || !one_of(s["runtime"], {"onnxruntime", "pytorch-lite"})) errs.push_back("/runtime: must be one of onnxruntime, pytorch-lite");
  if (!s.contains("backend") || !one_of(s["backend"], {"cpu", "xnnpack", "vulkan", "nnapi", "coreml"})) errs.push_back("/backend: must be one of cpu, xnnpack, vulkan, nnapi, coreml");
  need_int(s, "threads", 1, 256, errs);
  need_int(s, "warmup", 0, 100000, errs);
  need_int(s, "iterations", 1, 1000000, errs);
  need_int(s, "seed", 0, 4294967295LL, errs, false);
  if (s.contains("minDurationMs") && (!s["minDurationMs"].is_number() || s["minDurationMs"].get<double>() < 0)) errs.push_back("/minDurationMs: must be a number >= 0");
  if (!s.contains("timeBudgetSec") || !s["timeBudgetSec"].is_number() || !(s["timeBudgetSec"].get<double>() > 0) || s["timeBudgetSec"].get<double>() > 86400)
    errs.push_back("/timeBudgetSec: must be a number > 0 and <= 86400");
  if (!s.contains("inputs") || !s["inputs"].is_array() || s["inputs"].empty()) {
    errs.push_back("/inputs: must be a non-empty array");
  } else {
    for (size_t i = 0; i < s["inputs"].size(); ++i) {
      const auto& in = s["inputs"][i];
      std::string w = "/inputs/" + std::to_string(i);
      if (!in.is_object()) {
        errs.push_back(w + ": must be an object");
        continue;
      }
      check_fields(in, w, {"name", "shape", "dtype", "distribution"}, errs);
      if (!in.contains("name") || !in["name"].is_string() || in["name"].get<std::string>().empty()) errs.push_back(w + "/name: must be a non-empty string");
      bool shape_ok = in.contains("shape") && in["shape"].is_array() && !in["shape"].empty();
      if (shape_ok)
        for (const auto& d : in["shape"]) shape_ok = shape_ok && d.is_number() && is_int(d) && d.get<double>() >= 1;
      if (!shape_ok) errs.push_back(w + "/shape: must be a non-empty array of integers >= 1");
      if (!in.contains("dtype") || !one_of(in["dtype"], {"float32", "int64", "int32", "uint8"})) errs.push_back(w + "/dtype: must be one of float32, int64, int32, uint8");
      if (in.contains("distribution")) {
        const auto& d = in["distribution"];
        if (!d.is_object()) errs.push_back(w + "/distribution: must be an object");
        else {
          check_fields(d, w + "/distribution", {"low", "high"}, errs);
          for (const char* k : {"low", "high"})
            if (d.contains(k) && !d[k].is_number()) errs.push_back(w + "/distribution/" + k + ": must be a number");
        }
      }
    }
  }
  if (s.contains("output")) {
    const auto& o = s["output"];
    if (!o.is_object()) errs.push_back("/output: must be an object");
    else {
      check_fields(o, "/output", {"index", "topK", "digest"}, errs);
      if (o.contains("index") && (!o["index"].is_number() || !is_int(o["index"]) || o["index"].get<double>() < 0)) errs.push_back("/output/index: must be an integer >= 0");
      if (o.contains("topK") && (!o["topK"].is_number() || !is_int(o["topK"]) || o["topK"].get<double>() < 0 || o["topK"].get<double>() > 100)) errs.push_back("/output/topK: must be an integer from 0 to 100");
      if (o.contains("digest") && !o["digest"].is_boolean()) errs.push_back("/output/digest: must be a boolean");
    }
  }
  if (s.contains("labels")) {
    if (!s["labels"].is_object()) errs.push_back("/labels: must be an object of strings");
    else
      for (auto it = s["labels"].begin(); it != s["labels"].end(); ++it)
        if (!it.value().is_string()) errs.push_back("/labels/" + it.key() + ": must be a string");
  }
  return errs;
}

// --- generated input: mulberry32(seed + i), bit-identical to src/seeded-input.ts ---

std::vector<uint8_t> generate_input(const json& in, uint32_t seed) {
  uint32_t state = seed;
  auto next = [&state]() {
    uint32_t t = (state += 0x6D2B79F5u);
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return t ^ (t >> 14);
  };
  size_t n = 1;
  for (const auto& d : in["shape"]) n *= d.get<size_t>();
  std::string dtype = in["dtype"];
  bool is_float = dtype == "float32";
  double low = 0, high = is_float ? 1 : 256;
  if (in.contains("distribution")) {
    low = in["distribution"].value("low", low);
    high = in["distribution"].value("high", high);
  }
  double span = high - low;
  size_t width = dtype == "int64" ? 8 : dtype == "uint8" ? 1 : 4;
  std::vector<uint8_t> out(n * width);
  for (size_t i = 0; i < n; ++i) {
    double u = next() / 4294967296.0;
    double v = low + u * span;
    if (is_float) {
      float f = static_cast<float>(v);
      std::memcpy(&out[i * 4], &f, 4);
    } else {
      // Typed-array stores wrap modulo 2^bits, as the reference does.
      int64_t x = static_cast<int64_t>(std::floor(v));
      if (dtype == "int64") std::memcpy(&out[i * 8], &x, 8);
      else if (dtype == "int32") {
        int32_t y = static_cast<int32_t>(static_cast<uint32_t>(x));
        std::memcpy(&out[i * 4], &y, 4);
      } else out[i] = static_cast<uint8_t>(x);
    }
  }
  return out;
}

// --- statistics (same definitions as src/summary.ts) ---

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.size() == 1) return sorted[0];
  double pos = (sorted.size() - 1) * q;
  size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

json summarize(const std::vector<double>& v) {
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  size_t n = v.size();
  double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double var = 0;
  if (n > 1) {
    for (double x : v) var += (x - mean) * (x - mean);
    var /= (n - 1);
  }
  double p50 = quantile(s, 0.5);
  std::vector<double> dev;
  for (double x : v) dev.push_back(std::fabs(x - p50));
  std::sort(dev.begin(), dev.end());
  double sd = std::sqrt(var);
  return {{"count", n}, {"minUs", s[0]}, {"meanUs", mean}, {"p50Us", p50}, {"p90Us", quantile(s, 0.9)}, {"p99Us", quantile(s, 0.99)},
          {"maxUs", s[n - 1]}, {"stddevUs", sd}, {"madUs", quantile(dev, 0.5)}, {"cv", mean > 0 ? sd / mean : 0.0}};
}

std::vector<int> top_k(const std::vector<float>& v, size_t k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](int i) { return std::isnan(v[i]) ? -INFINITY : static_cast<double>(v[i]); };
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return key(a) > key(b) || (key(a) == key(b) && a < b); });
  idx.resize(std::min(k, idx.size()));
  return idx;
}

// --- the runner process: started through the bundle's loader, killed (group) at the deadline ---

struct RunnerOutcome {
  enum Kind { kResult, kTimeout, kCrash } kind;
  json result;
  std::string stderr_tail;
  int code = 0;
  int signal = 0;
};

RunnerOutcome run_runner(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, double timeout_ms) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) || pipe(err_pipe)) throw Failure{"internal", std::string("pipe: ") + std::strerror(errno)};
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw Failure{"internal", std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    setpgid(0, 0);  // its own group, in our session: killable as a tree without autogroup effects
    // Its own group is out of reach of a kill of ours (the driver SIGKILLs the harness's group when
    // a run is cancelled): the runner dies with this process (run_runner runs on the main thread).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    struct rlimit no_core {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    for (const auto& kv : extra_env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "cannot start %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  close(out_pipe[1]);
  close(err_pipe[1]);
  std::string out, err;
  double deadline = now_ms() + timeout_ms;
  bool timed_out = false;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    double left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(fds, 2, static_cast<int>(std::min(left, 1000.0)) + 1);
    if (r < 0 && errno == EINTR) continue;
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p.fd, buf, sizeof buf);
      if (n <= 0) {
        close(p.fd);
        p.fd = -1;
        --open_fds;
      } else {
        (p.fd == out_pipe[0] ? out : err).append(buf, n);
        if (err.size() > 65536) err.erase(0, err.size() - 16384);
      }
    }
  }
  int status = 0;
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    for (auto& p : fds)
      if (p.fd >= 0) close(p.fd);
    return {RunnerOutcome::kTimeout, nullptr, err.size() > 1500 ? err.substr(err.size() - 1500) : err};
  }
  // Output closed: the runner is exiting; give it until the deadline to be reaped.
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now_ms() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {RunnerOutcome::kTimeout, nullptr, err};
    }
    usleep(2000);
  }
  kill(-pid, SIGKILL);  // nothing of the runner's tree outlives the session
  RunnerOutcome o{RunnerOutcome::kCrash, nullptr, err.size() > 1500 ? err.substr(err.size() - 1500) : err};
  if (WIFSIGNALED(status)) {
    o.signal = WTERMSIG(status);
    return o;
  }
  o.code = WEXITSTATUS(status);
  // The result is the last line that parses as a JSON object.
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    try {
      o.result = json::parse(line);
      o.kind = RunnerOutcome::kResult;
    } catch (const std::exception&) {
    }
  }
  return o;
}

// --- the bundle layout ---

struct Layout {
  std::string bundle, loader, libdir, version;
  std::vector<std::string> command(const std::string& exe, const std::vector<std::string>& args) const {
    std::vector<std::string> v;
    if (!loader.empty()) v = {loader, "--library-path", libdir};
    v.push_back(bundle + "/bin/" + exe);
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
  bool has(const std::string& exe) const { return access((bundle + "/bin/" + exe).c_str(), R_OK) == 0; }
};

Layout layout() {
  Layout l;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string exe = n > 0 ? std::string(self, n) : "";
  std::string fallback = exe.substr(0, exe.rfind('/'));
  fallback = fallback.substr(0, fallback.rfind('/'));
  l.bundle = env_or("PB_BUNDLE", fallback);
  l.loader = env_or("PB_LOADER", "");
  l.libdir = l.bundle + "/lib";
  l.version = env_or("PB_HARNESS_VERSION", "native-dev");
  return l;
}

const std::vector<std::string> kPtlAllocatorEnv = {"MALLOC_MMAP_THRESHOLD_=268435456", "MALLOC_TRIM_THRESHOLD_=536870912"};

// A runner's one-line answer to --version / --providers, with the loader in front.
std::string runner_query(const Layout& l, const std::string& exe, const std::string& flag) {
  if (!l.has(exe)) return "";
  // argv is built before fork: the probe forks from several threads, and a child may only call
  // async-signal-safe functions until it execs.
  auto argv = l.command(exe, {flag});
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC)) return "";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? trim(out) : "";
}

std::string vulkan_adapter_problem(json& adapter) {
  // The adapter's identity from `vulkaninfo --summary` where the device has it (Linux with
  // vulkan-tools); phones have no vulkaninfo, and then the report says so instead of guessing.
  FILE* f = popen("vulkaninfo --summary 2>/dev/null", "r");
  if (!f) return "vulkaninfo cannot be started";
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  int st = pclose(f);
  if (st != 0 && text.empty()) return "vulkaninfo is not available on this device";
  auto devices = text.find("Devices:");
  if (devices == std::string::npos) return "vulkaninfo lists no Vulkan device";
  std::vector<json> found;
  std::istringstream in(text.substr(devices));
  std::string line;
  json cur;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.rfind("GPU", 0) == 0 && t.back() == ':') {
      if (cur.contains("name")) found.push_back(cur);
      cur = json::object();
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(t.substr(0, eq)), v = trim(t.substr(eq + 1));
    if (k == "deviceName") cur["name"] = v;
    else if (k == "deviceType") {
      std::string d = v.rfind("PHYSICAL_DEVICE_TYPE_", 0) == 0 ? v.substr(21) : v;
      std::transform(d.begin(), d.end(), d.begin(), ::tolower);
      cur["deviceType"] = d;
    } else if (k == "driverInfo" || (k == "driverName" && !cur.contains("driver"))) cur["driver"] = v;
    else if (k == "apiVersion") cur["apiVersion"] = v;
  }
  if (cur.contains("name")) found.push_back(cur);
  if (found.empty()) return "vulkaninfo lists no Vulkan device";
  // Dawn's preference: discrete, integrated, virtual, then a CPU implementation (lavapipe).
  auto rank = [](const json& a) {
    static const std::vector<std::string> order = {"discrete_gpu", "integrated_gpu", "virtual_gpu", "cpu"};
    auto it = std::find(order.begin(), order.end(), a.value("deviceType", ""));
    return it == order.end() ? 99 : static_cast<int>(it - order.begin());
  };
  std::stable_sort(found.begin(), found.end(), [&](const json& a, const json& b) { return rank(a) < rank(b); });
  adapter = found[0];
  adapter["source"] = "vulkaninfo";
  return "";
}

std::string sha256_file(const std::string& path, long long& size) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Failure{"model_missing", "cannot open model " + path + ": " + std::strerror(errno)};
  pb::Sha256 h;
  std::vector<char> buf(1 << 20);
  ssize_t n;
  size = 0;
  while ((n = read(fd, buf.data(), buf.size())) > 0) {
    h.update(buf.data(), n);
    size += n;
  }
  close(fd);
  return h.hex();
}

// What changes whenever a file's content may have: device, inode, size, mtime and ctime (ns).
std::string file_key(const struct stat& st) {
  std::ostringstream k;
  k << st.st_dev << ':' << st.st_ino << ':' << st.st_size << ':' << st.st_mtim.tv_sec << '.' << st.st_mtim.tv_nsec << ':' << st.st_ctim.tv_sec << '.'
    << st.st_ctim.tv_nsec;
  return k.str();
}

std::string scratch_parent(const Layout& l) {
  std::string t = env_or("TMPDIR", "");
  if (!t.empty()) return t;
  if (access("/tmp", W_OK) == 0) return "/tmp";
  return l.bundle + "/tmp";  // Android: no /tmp; the bundle lives in a writable place
}

// The model's sha256, hashed once per content: the digest is kept with the file's key in
// <scratch parent>/pocketbench-sha256-<uid>/<sha256 of the path> and used while the key is
// unchanged; any write to the model changes its ctime, and it is hashed again.
std::string model_sha256(const Layout& l, const std::string& path, const struct stat& st, long long& size) {
  const std::string key = file_key(st);
  const std::string dir = scratch_parent(l) + "/pocketbench-sha256-" + std::to_string(getuid());
  pb::Sha256 name;
  name.update(path.data(), path.size());
  const std::string entry = dir + "/" + name.hex();
  // Only a directory of our own (a shared /tmp: another user's would be no cache of ours).
  auto ours = [&] {
    struct stat d;
    return lstat(dir.c_str(), &d) == 0 && S_ISDIR(d.st_mode) && d.st_uid == getuid() && (d.st_mode & 077) == 0;
  };
  std::string kept;
  if (ours() && read_text(entry, kept)) {
    auto nl = kept.find('\n');
    if (nl != std::string::npos && kept.substr(0, nl) == key && kept.size() >= nl + 65) {
      size = static_cast<long long>(st.st_size);
      return kept.substr(nl + 1, 64);
    }
  }
  std::string sha = sha256_file(path, size);
  struct stat after;
  // Kept only when the file did not change while it was read; a cache that cannot be written is no cache.
  if (stat(path.c_str(), &after) == 0 && file_key(after) == key && (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) && ours()) {
    std::string tmp = entry + ".tmp-" + std::to_string(getpid());
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << key << '\n' << sha << '\n';
    f.close();
    if (f.fail() || rename(tmp.c_str(), entry.c_str()) != 0) unlink(tmp.c_str());
  }
  return sha;
}

void rm_rf(const std::string& dir) {
  for (const auto& n : list_dir(dir)) unlink((dir + "/" + n).c_str());
  rmdir(dir.c_str());
}

// --- fidelity on seeded inputs: the same samples, digests and metrics as src/fidelity.ts ---

const int kDefaultFidelityInputs = 32;         // DEFAULT_FIDELITY_INPUTS (packages/contracts/src/fidelity.ts)
const long long kDefaultFidelitySeed = 1000000;  // DEFAULT_FIDELITY_SEED

struct FidelityPlan {
  int count = 0;
  uint32_t seed = 0;
  std::string input_digest, output_file, reference, reference_sha256;
};

size_t element_count(const std::vector<long long>& shape) {
  size_t n = 1;
  for (long long d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string shapes_text(const std::vector<std::vector<long long>>& shapes) {
  std::string out;
  for (const auto& sh : shapes) {
    std::string one;
    for (long long d : sh) one += (one.empty() ? "" : ", ") + std::to_string(d);
    out += (out.empty() ? "[" : ", [") + one + "]";
  }
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  pb::Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

/** Writes the seeded samples (input i, sample k: seed + k × inputs + i), checks the reference and adds the runner's --fidelity-* arguments. */
FidelityPlan plan_fidelity(const json& f, const json& inputs, const std::string& scratch, std::vector<std::string>& args) {
  FidelityPlan p;
  p.count = f.value("inputs", kDefaultFidelityInputs);
  p.seed = static_cast<uint32_t>(f.value("seed", kDefaultFidelitySeed));
  if (p.count <= 0) throw Failure{"bad_spec", "/fidelity: no samples (inputs is 0 and there is no eval set)"};
  pb::Sha256 digest;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string file = scratch + "/fidelity-input-" + std::to_string(i) + ".bin";
    std::ofstream out(file, std::ios::binary);
    for (int k = 0; k < p.count; ++k) {
      auto bytes = generate_input(inputs[i], p.seed + static_cast<uint32_t>(static_cast<size_t>(k) * inputs.size() + i));
      digest.update(bytes.data(), bytes.size());
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    if (!out) throw Failure{"internal", "cannot write fidelity input file " + file};
    args.insert(args.end(), {"--fidelity-input", file});
  }
  p.input_digest = "sha256:" + digest.hex();
  p.output_file = scratch + "/fidelity-output.f32";
  args.insert(args.end(), {"--fidelity-count", std::to_string(p.count), "--fidelity-output", p.output_file});
  if (f.contains("reference")) {
    const json& ref = f["reference"];
    std::string path = ref["path"];
    if (!read_text(path, p.reference)) throw Failure{"bad_spec", "reference outputs not found at " + path + " (" + std::strerror(errno) + ")"};
    p.reference_sha256 = sha256_hex(p.reference);
    if (p.reference_sha256 != ref["sha256"].get<std::string>()) throw Failure{"bad_spec", "reference outputs " + path + " do not have sha256 " + ref["sha256"].get<std::string>()};
    std::vector<std::vector<long long>> shapes;
    size_t stride = 0;
    for (const auto& o : ref["outputs"]) {
      shapes.push_back(o["shape"].get<std::vector<long long>>());
      stride += element_count(shapes.back());
    }
    size_t expected = static_cast<size_t>(p.count) * stride * 4;
    if (p.reference.size() != expected)
      throw Failure{"bad_spec", "reference outputs hold " + std::to_string(p.reference.size()) + " bytes; " + std::to_string(p.count) + " samples of outputs " + shapes_text(shapes) +
                                    " need " + std::to_string(expected)};
  }
  return p;
}

/** Indices of the k largest, ties to the earlier (src/fidelity.ts topK, insertion by strict <). */
std::vector<size_t> fidelity_top_k(const float* row, size_t n, size_t k) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i) {
    size_t pos = idx.size();
    while (pos > 0 && static_cast<double>(row[idx[pos - 1]]) < static_cast<double>(row[i])) --pos;
    if (pos < k) {
      idx.insert(idx.begin() + static_cast<long>(pos), i);
      if (idx.size() > k) idx.pop_back();
    }
  }
  return idx;
}

json compare_output(const std::vector<float>& mine, const std::vector<float>& ref, size_t samples, size_t stride, size_t offset, size_t size,
                    const std::vector<long long>& shape, size_t index) {
  size_t classes = shape.empty() ? 1 : static_cast<size_t>(std::max<long long>(1, shape.back()));
  size_t k5 = std::min<size_t>(5, classes);
  size_t rows = 0, agree = 0;
  double overlap = 0, cos_sum = 0, cos_min = INFINITY, max_abs = 0, signal = 0, noise = 0;
  for (size_t s = 0; s < samples; ++s) {
    const float* a = mine.data() + s * stride + offset;
    const float* b = ref.data() + s * stride + offset;
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < size; ++i) {
      double x = a[i], y = b[i], d = x - y;
      dot += x * y;
      na += x * x;
      nb += y * y;
      noise += d * d;
      max_abs = std::max(max_abs, std::fabs(d));
    }
    signal += nb;
    double cos = na == 0 && nb == 0 ? 1 : na == 0 || nb == 0 ? 0 : dot / std::sqrt(na * nb);
    cos_sum += cos;
    cos_min = std::min(cos_min, cos);
    for (size_t r = 0; r + classes <= size; r += classes) {
      auto ta = fidelity_top_k(a + r, classes, k5), tb = fidelity_top_k(b + r, classes, k5);
      ++rows;
      if (!ta.empty() && !tb.empty() && ta[0] == tb[0]) ++agree;
      size_t common = 0;
      for (size_t x : ta) common += std::find(tb.begin(), tb.end(), x) != tb.end();
      overlap += static_cast<double>(common) / static_cast<double>(k5);
    }
  }
  json snr = nullptr;
  if (noise != 0) snr = 10 * std::log10(std::max(signal, std::numeric_limits<double>::denorm_min()) / noise);
  return {{"index", index},
          {"shape", shape},
          {"rows", rows},
          {"top1Agree", agree},
          {"top1AgreementPct", rows ? 100.0 * static_cast<double>(agree) / static_cast<double>(rows) : 0.0},
          {"top5OverlapPct", rows ? 100.0 * overlap / static_cast<double>(rows) : 0.0},
          {"cosine", samples ? cos_sum / static_cast<double>(samples) : 0.0},
          {"cosineMin", samples ? cos_min : 0.0},
          {"maxAbsError", max_abs},
          {"snrDb", snr}};
}

/** The report's fidelity section from the runner's fidelity outputs (float32, sample by sample, outputs in order). */
json fidelity_report(const json& f, const FidelityPlan& p, const json& r) {
  static const std::map<std::string, std::string> c10 = {{"Float", "float32"}, {"Double", "float64"}, {"Half", "float16"}, {"BFloat16", "bfloat16"}, {"Long", "int64"},
                                                         {"Int", "int32"},     {"Short", "int16"},    {"Char", "int8"},     {"Byte", "uint8"},        {"Bool", "bool"}};
  if (!r.contains("fidelityOutputs") || !r["fidelityOutputs"].is_array() || r["fidelityOutputs"].empty())
    throw Failure{"internal", "the runner did not report its fidelity outputs"};
  std::vector<std::vector<long long>> shapes;
  std::vector<size_t> per;
  size_t stride = 0;
  json outputs = json::array();
  for (const auto& o : r["fidelityOutputs"]) {
    shapes.push_back(o["shape"].get<std::vector<long long>>());
    per.push_back(element_count(shapes.back()));
    stride += per.back();
    std::string dtype = o.value("dtype", "");
    auto it = c10.find(dtype);
    outputs.push_back({{"index", outputs.size()}, {"dtype", it == c10.end() ? dtype : it->second}, {"shape", shapes.back()}});
  }
  size_t samples = static_cast<size_t>(p.count);
  std::string raw;
  if (!read_text(p.output_file, raw) || raw.size() != samples * stride * 4)
    throw Failure{"internal", "the runner wrote " + std::to_string(raw.size()) + " bytes of fidelity outputs; " + std::to_string(samples) + " samples of " + shapes_text(shapes) + " are " +
                                  std::to_string(samples * stride * 4)};
  if (f.contains("outputsPath")) {
    std::ofstream out(f["outputsPath"].get<std::string>(), std::ios::binary);
    out.write(raw.data(), static_cast<std::streamsize>(raw.size()));
    if (!out) throw Failure{"internal", "cannot write the fidelity outputs to " + f["outputsPath"].get<std::string>()};
  }
  json report = {{"seededInputs", p.count}, {"evalSamples", 0}, {"seed", p.seed}, {"inputDigest", p.input_digest}, {"outputs", outputs}};
  if (f.contains("reference")) {
    std::vector<std::vector<long long>> ref_shapes;
    for (const auto& o : f["reference"]["outputs"]) ref_shapes.push_back(o["shape"].get<std::vector<long long>>());
    if (ref_shapes != shapes)
      throw Failure{"bad_spec", "the reference's outputs " + shapes_text(ref_shapes) + " differ from this model's " + shapes_text(shapes) + ": they cannot be compared"};
    std::vector<float> mine(raw.size() / 4), ref(p.reference.size() / 4);
    std::memcpy(mine.data(), raw.data(), raw.size());
    std::memcpy(ref.data(), p.reference.data(), p.reference.size());
    report["referenceDigest"] = "sha256:" + p.reference_sha256;
    json agreement = json::array();
    size_t offset = 0;
    for (size_t j = 0; j < shapes.size(); ++j) {
      agreement.push_back(compare_output(mine, ref, samples, stride, offset, per[j], shapes[j], j));
      offset += per[j];
    }
    report["agreement"] = agreement;
  }
  return report;
}

json measure(const json& spec, const Layout& l, const std::string& scratch, double started, json& report) {
  double deadline = started + spec["timeBudgetSec"].get<double>() * 1000;
  std::string runtime = spec["runtime"], backend = spec["backend"], format = spec["artifact"]["format"];
  std::string want_format = runtime == "pytorch-lite" ? "ptl" : "onnx";
  if (format != want_format) throw Failure{"bad_spec", "/artifact/format: '" + format + "' cannot run on runtime '" + runtime + "' (expects '" + want_format + "')"};
  // onnxruntime + nnapi goes to the runner: an NDK build against ONNX Runtime's Android library
  // has the NNAPI EP, and the runner says precisely when its library has none.
  if (backend == "nnapi" && runtime == "pytorch-lite")
    throw Unsupported{"pytorch-lite cannot use backend 'nnapi' in this bundle: PyTorch's NNAPI delegate needs PyTorch's Android libraries built with the Android NDK, "
                      "which is not available where this bundle was built (see device-agents/android/README.md)"};
  // The fidelity pass on seeded inputs runs here (agreement with a reference); an eval set's
  // .npz is read by the Node harness only, so far.
  const json* fid = spec.contains("fidelity") ? &spec["fidelity"] : nullptr;
  if (fid && fid->contains("evalSet"))
    throw Unsupported{"the native harness reads no eval sets yet (spec.fidelity.evalSet: eval-set accuracy is computed by the Node harness); "
                      "agreement with a reference on seeded inputs runs here"};
  if (backend == "coreml") throw Unsupported{runtime + " cannot use backend 'coreml' here: Core ML exists only on Apple platforms"};
  if (backend == "xnnpack")
    throw Unsupported{runtime == "pytorch-lite" ? "the XNNPACK delegate is not built into Debian's libtorch; backend cpu already runs XNNPACK kernels for models optimised for mobile"
                                                 : "the bundled libonnxruntime is built without the XNNPACK execution provider"};
  if (backend == "vulkan" && runtime == "pytorch-lite") throw Unsupported{"Debian's libtorch is built without the Vulkan backend"};
  std::string exe = runtime == "pytorch-lite" ? "ptl-runner" : "ort-runner";
  struct utsname u;
  uname(&u);
  if (!l.has(exe)) throw Unsupported{runtime + " is not built for " + std::string(u.machine) + " in this harness bundle (no " + exe + ")"};

  std::string path = spec["artifact"]["path"];
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw Failure{"model_missing", "model file not found: " + path + " (" + std::strerror(errno) + ")"};
  if (!S_ISREG(st.st_mode)) throw Failure{"model_missing", "model path " + path + " is not a file"};
  long long size = 0;
  std::string sha = model_sha256(l, path, st, size);
  if (sha != spec["artifact"]["sha256"].get<std::string>())
    throw Failure{"model_hash_mismatch", "model " + path + " has sha256 " + sha + ", the spec expects " + spec["artifact"]["sha256"].get<std::string>()};

  json adapter;
  std::string adapter_note;
  if (backend == "vulkan") {
    adapter_note = vulkan_adapter_problem(adapter);
    if (adapter_note == "vulkaninfo lists no Vulkan device") throw Unsupported{"no Vulkan device: " + adapter_note};
  }

  uint32_t seed = static_cast<uint32_t>(spec.value("seed", 0LL));
  pb::Sha256 input_digest;
  std::vector<std::string> args = {"--model", path, "--threads", std::to_string(spec["threads"].get<int>()), "--warmup", std::to_string(spec["warmup"].get<int>()),
                                   "--iterations", std::to_string(spec["iterations"].get<int>()), "--min-duration-ms", std::to_string(spec.value("minDurationMs", 0.0))};
  int output_index = spec.contains("output") ? spec["output"].value("index", 0) : 0;
  args.insert(args.end(), {"--output-index", std::to_string(output_index), "--output-file", scratch + "/output.f32"});
  for (size_t i = 0; i < spec["inputs"].size(); ++i) {
    const auto& in = spec["inputs"][i];
    auto bytes = generate_input(in, seed + static_cast<uint32_t>(i));
    input_digest.update(bytes.data(), bytes.size());
    std::string file = scratch + "/input-" + std::to_string(i) + ".bin";
    std::ofstream f(file, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw Failure{"internal", "cannot write input file " + file};
    std::string shape;
    for (const auto& d : in["shape"]) shape += (shape.empty() ? "" : "x") + std::to_string(d.get<long long>());
    std::string arg = file + ":" + in["dtype"].get<std::string>() + ":" + shape;
    if (runtime == "onnxruntime") arg = in["name"].get<std::string>() + "=" + arg;
    args.insert(args.end(), {"--input", arg});
  }
  FidelityPlan plan;
  if (fid) plan = plan_fidelity(*fid, spec["inputs"], scratch, args);
  std::vector<std::string> env;
  if (runtime == "onnxruntime") {
    args.insert(args.end(), {"--backend", backend, "--profile-prefix", scratch + "/ort-profile"});
    // Vulkan loaders refuse to start without XDG_RUNTIME_DIR.
    if (!std::getenv("XDG_RUNTIME_DIR")) env.push_back("XDG_RUNTIME_DIR=" + scratch);
  } else {
    env = kPtlAllocatorEnv;
  }
  auto outcome = run_runner(l.command(exe, args), env, deadline - now_ms());
  if (outcome.kind == RunnerOutcome::kTimeout)
    throw Failure{"timeout", "time budget of " + ordered_json(spec["timeBudgetSec"]).dump() + "s exceeded; the runner was killed"};
  if (outcome.kind == RunnerOutcome::kCrash) {
    std::string how = outcome.signal ? std::string("killed by ") + (strsignal(outcome.signal) ? strsignal(outcome.signal) : "a signal") + " (signal " + std::to_string(outcome.signal) + ")"
                                     : "exited with code " + std::to_string(outcome.code) + " without a result";
    throw Failure{"crash", runtime + " runner " + how + ": " + trim(outcome.stderr_tail)};
  }
  const json& r = outcome.result;
  std::string status = r.value("status", "");
  if (status == "unsupported") throw Unsupported{r.value("reason", "the runner reported unsupported")};
  if (status == "error") {
    std::string cls = r.value("errorClass", "internal"), msg = r.value("message", "");
    std::string lower = msg;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (cls == "inference" && (lower.find("size") != std::string::npos || lower.find("shape") != std::string::npos || lower.find("dimension") != std::string::npos ||
                               lower.find("channels") != std::string::npos))
      cls = "input_mismatch";
    throw Failure{cls, msg};
  }
  std::string used = r.value("backendUsed", "");
  if (used.empty()) throw Failure{"internal", runtime + " runner did not report the backend it ran on"};
  if (used != backend) throw Unsupported{"requested backend '" + backend + "', but " + runtime + " ran the model on '" + used + "'; a fallback is a failure, not a result"};
  std::vector<double> its = r["iterationsUs"].get<std::vector<double>>();
  if (its.size() < spec["iterations"].get<size_t>())
    throw Failure{"internal", "runner returned " + std::to_string(its.size()) + " iterations, the spec asked for " + std::to_string(spec["iterations"].get<int>())};

  std::string outbytes;
  if (!read_text(scratch + "/output.f32", outbytes)) throw Failure{"internal", "the runner wrote no output file"};
  std::vector<float> values(outbytes.size() / 4);
  std::memcpy(values.data(), outbytes.data(), values.size() * 4);
  pb::Sha256 od;
  od.update(outbytes.data(), outbytes.size());
  size_t k = spec.contains("output") ? spec["output"].value("topK", 5) : 5;

  json detail = r.value("detail", json::object());
  json rt_detail = json::object();
  if (runtime == "pytorch-lite") {
    rt_detail["interpreter"] = "lite (torch::jit::_load_for_mobile)";
    // qengine, supportedQEngines and xnnpackAvailable come from the runner's detail: what this libtorch has.
    rt_detail["threads"] = spec["threads"];
    rt_detail["allocatorEnv"] = {{"MALLOC_MMAP_THRESHOLD_", "268435456"}, {"MALLOC_TRIM_THRESHOLD_", "536870912"}};
    for (auto it = detail.begin(); it != detail.end(); ++it) rt_detail[it.key()] = it.value();
    rt_detail["backendEvidence"] = "the model's operator list (_export_operator_list): lite-interpreter CPU kernels, XNNPACK for prepacked:: ops, quantized:: ops on the quantized engine named in qengine";
  } else {
    rt_detail = detail;
  }
  // GPU backends: the adapter that ran the model, as the device's Vulkan loader lists it.
  if (backend == "vulkan" && adapter.is_null() && !adapter_note.empty()) rt_detail["adapterUnknown"] = adapter_note;
  rt_detail["runner"] = std::string("native ") + exe + " (" + u.machine + ")";

  report["status"] = "ok";
  report["spec"] = spec;
  report["runtime"] = {{"name", runtime}, {"version", r.value("runtimeVersion", "")}, {"detail", rt_detail}};
  json b = {{"requested", backend}, {"used", used}};
  if (!adapter.is_null()) b["adapter"] = adapter;
  report["backend"] = b;
  report["model"] = {{"path", path}, {"sha256", sha}, {"sizeBytes", size}, {"format", format}};
  double total = std::accumulate(its.begin(), its.end(), 0.0);
  report["timing"] = {{"modelLoadMs", r.value("modelLoadMs", 0.0)}, {"firstInferenceMs", r.value("firstInferenceMs", 0.0)}, {"warmup", spec["warmup"]},
                      {"iterationsUs", its}, {"timedDurationMs", total / 1000}};
  report["summary"] = summarize(its);
  json memory = {{"peakRssBytes", std::max(0L, r.value("peakRssBytes", 0L))}, {"method", "VmHWM"}};
  if (r.contains("pssBytes") && r["pssBytes"].is_number() && r["pssBytes"].get<long>() >= 0) {
    memory["pssBytes"] = r["pssBytes"];
    memory["pssMethod"] = "smaps_rollup";
  }
  report["memory"] = memory;
  json output = {{"index", output_index}, {"dtype", r.value("outputDtype", "")}, {"shape", r.value("outputShape", json::array())}};
  if (!(spec.contains("output") && spec["output"].contains("digest") && spec["output"]["digest"] == false)) output["digest"] = "sha256:" + od.hex();
  output["topK"] = top_k(values, k);
  output["inputDigest"] = "sha256:" + input_digest.hex();
  report["output"] = output;
  if (fid) report["fidelity"] = fidelity_report(*fid, plan, r);
  return report;
}

int cmd_run(const std::string& spec_path, const std::string& out_path) {
  double started = now_ms();
  json report;
  report["reportVersion"] = 1;
  report["status"] = "error";
  Layout l = layout();
  report["harness"] = {{"name", kHarnessName}, {"version", l.version}};
  json before = device_snapshot();
  report["startedAt"] = iso_now();
  report["host"] = host_facts();
  json spec = json::object();
  std::string problem;
  {
    std::string text;
    bool ok = false;
    if (spec_path == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
      ok = true;
    } else {
      ok = read_text(spec_path, text);
    }
    if (!ok) problem = "cannot read spec " + spec_path + ": " + std::strerror(errno);
    else {
      try {
        spec = json::parse(text);
      } catch (const std::exception& e) {
        problem = "spec " + spec_path + " is not JSON: " + e.what();
        spec = json::object();
      }
    }
  }
  report["spec"] = spec.is_object() ? spec : json::object();
  if (spec.is_object() && spec.contains("labels") && spec["labels"].is_object()) report["labels"] = spec["labels"];
  std::string runtime = spec.is_object() && spec.contains("runtime") && spec["runtime"].is_string() ? spec["runtime"].get<std::string>() : "unknown";
  std::string backend = spec.is_object() && spec.contains("backend") && spec["backend"].is_string() ? spec["backend"].get<std::string>() : "unknown";
  std::string scratch;
  try {
    if (!problem.empty()) throw Failure{"bad_spec", problem};
    auto errs = validate_spec(spec);
    if (!errs.empty()) {
      std::string all;
      for (auto& e : errs) all += (all.empty() ? "" : "; ") + e;
      throw Failure{"bad_spec", "invalid BenchSpec: " + all};
    }
    std::string parent = scratch_parent(l);
    mkdir(parent.c_str(), 0700);
    std::string tmpl = parent + "/pocketbench-session-" + std::to_string(getpid()) + "-XXXXXX";
    std::vector<char> t(tmpl.begin(), tmpl.end());
    t.push_back('\0');
    if (!mkdtemp(t.data())) throw Failure{"internal", "cannot create a scratch directory under " + parent + ": " + std::strerror(errno)};
    scratch = t.data();
    measure(spec, l, scratch, started, report);
  } catch (const Failure& f) {
    report["status"] = "error";
    report["error"] = {{"class", f.cls}, {"message", f.message}};
    report["runtime"] = {{"name", runtime}, {"version", nullptr}};
    report["backend"] = {{"requested", backend}, {"used", nullptr}};
  } catch (const Unsupported& u) {
    report["status"] = "unsupported";
    report["runtime"] = {{"name", runtime}, {"version", nullptr}};
    report["backend"] = {{"requested", backend}, {"used", nullptr}, {"reason", u.reason}};
  } catch (const std::exception& e) {
    report["status"] = "error";
    report["error"] = {{"class", "internal"}, {"message", std::string("harness bug: ") + e.what()}};
    report["runtime"] = {{"name", runtime}, {"version", nullptr}};
    report["backend"] = {{"requested", backend}, {"used", nullptr}};
  }
  if (!scratch.empty()) rm_rf(scratch);
  report["device"] = {{"before", before}, {"after", device_snapshot()}};
  report["finishedAt"] = iso_now();
  report["durationMs"] = now_ms() - started;
  std::string text = report.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (!out_path.empty()) {
    std::string tmp = out_path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      f << text;
      if (!f) {
        std::cerr << "cannot write report " << tmp << ": " << std::strerror(errno) << "\n";
        return 70;
      }
    }
    if (rename(tmp.c_str(), out_path.c_str()) != 0) {
      std::cerr << "cannot rename report into " << out_path << ": " << std::strerror(errno) << "\n";
      return 70;
    }
  } else {
    std::cout << text << std::flush;
  }
  std::string status = report["status"];
  if (status != "ok") {
    std::cerr << status << ": " << (report.contains("error") ? report["error"]["message"].get<std::string>() : report["backend"].value("reason", "")) << "\n";
  }
  return status == "ok" ? 0 : status == "unsupported" ? 3 : 2;
}

int cmd_probe() {
  Layout l = layout();
  json runtimes = json::object();
  std::vector<std::string> all;
  // Every runtime must really start to be listed; the queries run at once (under emulation each
  // start of a runner loading libtorch takes seconds).
  std::string ort, providers, ptl, why;
  json adapter;
  {
    std::thread a([&] { ort = runner_query(l, "ort-runner", "--version"); });
    std::thread b([&] { providers = runner_query(l, "ort-runner", "--providers"); });
    std::thread c([&] { ptl = runner_query(l, "ptl-runner", "--version"); });
    std::thread d([&] { why = vulkan_adapter_problem(adapter); });
    a.join();
    b.join();
    c.join();
    d.join();
  }
  json vulkan;
  if (!ort.empty()) {
    std::vector<std::string> backends = {"cpu"};
    bool webgpu = providers.find("WebGpuExecutionProvider") != std::string::npos;
    if (webgpu && why.empty()) backends.push_back("vulkan");
    vulkan = why.empty() ? json{{"adapters", json::array({adapter})}} : json{{"unavailable", why}};
    if (!webgpu) vulkan = {{"unavailable", "the bundled libonnxruntime " + ort + " has no WebGPU execution provider"}};
    runtimes["onnxruntime"] = {{"version", ort}, {"backends", backends}, {"runner", "native ort-runner"}};
    all.insert(all.end(), backends.begin(), backends.end());
  }
  if (!ptl.empty()) {
    runtimes["pytorch-lite"] = {{"version", ptl}, {"backends", {"cpu"}}, {"runner", "native ptl-runner"}};
    if (std::find(all.begin(), all.end(), "cpu") == all.end()) all.push_back("cpu");
  }
  json out = {{"harness", {{"name", kHarnessName}, {"version", l.version}}}, {"runtimes", runtimes}, {"backends", all},
              {"vulkan", vulkan.is_null() ? json{{"unavailable", "no ONNX Runtime runner in this bundle"}} : vulkan}};
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> a(argv + 1, argv + argc);
  const char* usage = "usage: pocketbench-harness run --spec <spec.json|-> [--out <report.json>] | probe | --version";
  if (a.size() == 1 && a[0] == "--version") {
    std::cout << layout().version << std::endl;
    return 0;
  }
  if (a.size() == 1 && a[0] == "probe") return cmd_probe();
  if (!a.empty() && a[0] == "run") {
    std::string spec, out;
    for (size_t i = 1; i < a.size(); ++i) {
      if (a[i] == "--spec" && i + 1 < a.size()) spec = a[++i];
      else if (a[i] == "--out" && i + 1 < a.size()) out = a[++i];
      else {
        std::cerr << "unknown argument " << a[i] << "\n" << usage << "\n";
        return 64;
      }
    }
    if (spec.empty()) {
      std::cerr << "--spec is required\n" << usage << "\n";
      return 64;
    }
    return cmd_run(spec, out);
  }
  std::cerr << usage << "\n";
  return 64;
}
