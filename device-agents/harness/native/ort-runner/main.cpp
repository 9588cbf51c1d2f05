// pocketbench ort-runner: ONNX Runtime through its C API (the C++ header wrapper), no Node.
// Loads an .onnx, runs warmup + timed iterations on inputs read from raw files, writes one JSON
// result line to stdout: the same runner protocol as ptl-runner (runner-protocol.ts), so the
// supervisor (native/harness or src/run-session.ts) treats both alike.
//
// Usage: ort-runner --model PATH --backend cpu|vulkan --threads N --warmup N --iterations N
//                   --min-duration-ms N --input NAME=FILE:DTYPE:D0xD1x... [--input ...]
//                   --output-index I --output-file PATH --profile-prefix PATH
//                   [--fidelity-count N --fidelity-input FILE (one per --input) --fidelity-output FILE]
//        ort-runner --version        (ONNX Runtime version; "api <n>" of the headers on stderr)
//        ort-runner --providers      (execution providers compiled into this libonnxruntime)
//
// backend.used evidence: after the timed loop (and after VmHWM is read) one more inference
// runs with per-run profiling (RunOptions::EnableProfiling, ORT >= 1.25) in the same session;
// the profile's per-node `args.provider` says where every node ran. No second session.
#include "../common/runner.h"

#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <dlfcn.h>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

[[noreturn]] void emit_and_exit(const json& j, int code) {
  std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  std::exit(code);
}

using pb::fail;
using pb::unsupported;

struct InputArg {
  std::string name, file, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

ONNXTensorElementDataType ort_type(const std::string& d) {
  if (d == "float32") return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  if (d == "int64") return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  if (d == "int32") return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  if (d == "uint8") return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  fail("bad_spec", "unsupported input dtype '" + d + "' (float32, int64, int32, uint8)");
}

size_t elem_size(const std::string& d) { return d == "int64" ? 8 : d == "uint8" ? 1 : 4; }

// Names as onnxruntime-node's Tensor.type gives them, so reports read the same from both runners.
std::string type_name(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return "int16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    default: return "type" + std::to_string(static_cast<int>(t));
  }
}

InputArg parse_input(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos) fail("bad_spec", "--input must be NAME=FILE:DTYPE:SHAPE, got '" + arg + "'");
  auto spec = pb::split_input(arg.substr(eq + 1), "NAME=FILE:DTYPE:SHAPE");
  InputArg in{arg.substr(0, eq), spec.file, spec.dtype, spec.shape, {}};
  ort_type(in.dtype);
  size_t n = 1;
  for (auto d : in.shape) n *= static_cast<size_t>(d);
  std::ifstream f(in.file, std::ios::binary);
  if (!f) fail("bad_spec", "cannot open input file " + in.file);
  in.bytes.resize(n * elem_size(in.dtype));
  f.read(reinterpret_cast<char*>(in.bytes.data()), static_cast<std::streamsize>(in.bytes.size()));
  if (static_cast<size_t>(f.gcount()) != in.bytes.size()) fail("bad_spec", "input file " + in.file + " is shorter than its shape");
  return in;
}

struct Placement {
  std::string node, op, provider;
};

// One entry per node (its first run), in execution order, from the Chrome-trace profile.
std::vector<Placement> placements_from_profile(const std::string& file) {
  std::ifstream f(file);
  if (!f) throw std::runtime_error("cannot open profile " + file);
  json events = json::parse(f);
  if (!events.is_array()) throw std::runtime_error("ONNX Runtime profile is not a JSON array of trace events");
  std::vector<Placement> out;
  std::set<std::string> seen;
  for (const auto& e : events) {
    if (!e.is_object() || e.value("cat", "") != "Node") continue;
    auto args = e.find("args");
    if (args == e.end() || !args->is_object() || !args->contains("provider") || !(*args)["provider"].is_string()) continue;
    std::string node = e.value("name", "");
    const std::string suffix = "_kernel_time";
    if (node.size() > suffix.size() && node.compare(node.size() - suffix.size(), suffix.size(), suffix) == 0) node.resize(node.size() - suffix.size());
    if (!seen.insert(node).second) continue;
    out.push_back({node, args->value("op_name", "?"), (*args)["provider"].get<std::string>()});
  }
  return out;
}

std::string describe(const std::vector<Placement>& nodes, size_t max = 10) {
  std::string s;
  for (size_t i = 0; i < nodes.size() && i < max; ++i) s += (i ? ", " : "") + nodes[i].node + " (" + nodes[i].op + ") on " + nodes[i].provider;
  if (nodes.size() > max) s += ", and " + std::to_string(nodes.size() - max) + " more";
  return s;
}

std::string newest_profile(const std::string& prefix) {
  auto slash = prefix.rfind('/');
  std::string dir = slash == std::string::npos ? "." : prefix.substr(0, slash);
  std::string base = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
  std::string found;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind(base + "_", 0) == 0 && n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0 && n > found) found = n;
    }
    closedir(d);
  }
  if (found.empty()) throw std::runtime_error("no profile file " + prefix + "_*.json was written");
  return dir + "/" + found;
}

const std::set<std::string> kMemcpy = {"MemcpyFromHost", "MemcpyToHost"};

}  // namespace

int main(int argc, char** argv) {
  pb::no_core_dumps();

  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << Ort::GetVersionString() << std::endl;
    std::cerr << "api " << ORT_API_VERSION << std::endl;
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--providers") {
    for (const auto& p : Ort::GetAvailableProviders()) std::cout << p << "\n";
    return 0;
  }

  const pb::RunnerArgs cli = pb::parse_runner_args(argc, argv, {"backend", "profile-prefix"});
  const std::string backend = cli.extra.count("backend") ? cli.extra.at("backend") : "cpu";
  const std::string profile_prefix = cli.extra.count("profile-prefix") ? cli.extra.at("profile-prefix") : "";
  if (profile_prefix.empty()) fail("bad_spec", "--profile-prefix is required");
  std::vector<InputArg> inputs;
  for (const auto& arg : cli.inputs) inputs.push_back(parse_input(arg));
  if (backend != "cpu" && backend != "vulkan" && backend != "nnapi")
    unsupported("the native ONNX Runtime runner runs backends cpu, vulkan (WebGPU EP) and nnapi (NNAPI EP, Android builds), not '" + backend + "'");
  const bool vulkan = backend == "vulkan";
  const bool nnapi = backend == "nnapi";
  const std::string expected_provider = vulkan ? "WebGpuExecutionProvider" : nnapi ? "NnapiExecutionProvider" : "CPUExecutionProvider";
  // NNAPI's entry point exists only in ONNX Runtime's Android build (the AAR's libonnxruntime.so);
  // looked up at run time so the same source builds against the Linux library too.
  using AppendNnapi = OrtStatus* (*)(OrtSessionOptions*, uint32_t);
  auto append_nnapi = reinterpret_cast<AppendNnapi>(dlsym(RTLD_DEFAULT, "OrtSessionOptionsAppendExecutionProvider_Nnapi"));
  if (nnapi && !append_nnapi)
    unsupported("this libonnxruntime " + Ort::GetVersionString() + " has no NNAPI execution provider: NNAPI needs ONNX Runtime's Android build "
                "(the AAR's arm64-v8a libonnxruntime.so) and these runner sources compiled with the Android NDK; see device-agents/android/README.md");

  Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "pocketbench");
  auto make_options = [&](bool allow_fallback) {
    Ort::SessionOptions o;
    o.SetIntraOpNumThreads(cli.threads);
    o.SetInterOpNumThreads(1);
    o.SetExecutionMode(ORT_SEQUENTIAL);
    o.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    o.SetLogSeverityLevel(3);
    if (vulkan) {
      // WebGPU on Linux is Dawn on Vulkan. No CPU fallback: "vulkan" means every node ran there.
      o.AddConfigEntry("session.disable_cpu_ep_fallback", allow_fallback ? "0" : "1");
      auto providers = Ort::GetAvailableProviders();
      if (std::find(providers.begin(), providers.end(), "WebGpuExecutionProvider") == providers.end())
        unsupported("this libonnxruntime " + Ort::GetVersionString() + " is built without the WebGPU execution provider (it has: " +
                    [&] { std::string s; for (auto& p : providers) s += (s.empty() ? "" : ", ") + p; return s; }() + ")");
      o.AppendExecutionProvider("WebGPU", std::unordered_map<std::string, std::string>{});
    }
    if (nnapi) {
      // NNAPI_FLAG_CPU_DISABLED (0x004): no NNAPI CPU reference device; with fallback disabled a
      // node NNAPI cannot run fails the session instead of running on ONNX Runtime's CPU EP.
      o.AddConfigEntry("session.disable_cpu_ep_fallback", allow_fallback ? "0" : "1");
      Ort::ThrowOnError(append_nnapi(o, 0x004));
    }
    return o;
  };

  Ort::SessionOptions options{nullptr};
  try {
    options = make_options(false);
  } catch (const Ort::Exception& e) {
    unsupported(std::string("the WebGPU execution provider cannot be added: ") + e.what());
  }
  auto t0 = pb::Clock::now();
  Ort::Session session{nullptr};
  try {
    session = Ort::Session(env, cli.model.c_str(), options);
  } catch (const Ort::Exception& e) {
    std::string msg = e.what();
    auto lower = msg;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (vulkan && (lower.find("adapter") != std::string::npos || lower.find("vulkan") != std::string::npos || lower.find("webgpu context") != std::string::npos))
      unsupported("no usable Vulkan device for WebGPU: " + msg);
    if ((vulkan || nnapi) && (lower.find("fallback") != std::string::npos || lower.find("not supported by") != std::string::npos || lower.find("no kernel") != std::string::npos)) {
      // Which nodes would have run on the CPU: a diagnostic session with fallback allowed, profiled.
      std::string offenders;
      try {
        Ort::Session diag(env, cli.model.c_str(), make_options(true));
        // Inputs may not fit; the diagnosis is a courtesy, the refusal stands without it.
        Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        std::vector<Ort::Value> vals;
        std::vector<const char*> names;
        for (auto& in : inputs) {
          vals.push_back(Ort::Value::CreateTensor(mem, in.bytes.data(), in.bytes.size(), in.shape.data(), in.shape.size(), ort_type(in.dtype)));
          names.push_back(in.name.c_str());
        }
        auto out_name = diag.GetOutputNameAllocated(0, Ort::AllocatorWithDefaultOptions());
        const char* outs[] = {out_name.get()};
        Ort::RunOptions ro;
        ro.EnableProfiling((profile_prefix + "-diag").c_str());
        diag.Run(ro, names.data(), vals.data(), vals.size(), outs, 1);
        std::vector<Placement> bad;
        for (auto& p : placements_from_profile(newest_profile(profile_prefix + "-diag")))
          if (!kMemcpy.count(p.op) && p.provider != expected_provider) bad.push_back(p);
        if (!bad.empty()) offenders = describe(bad) + " ";
      } catch (const std::exception&) {
      }
      unsupported(std::string("model has nodes the ") + (nnapi ? "NNAPI" : "WebGPU") + " EP cannot run, and CPU fallback is refused: " + offenders + "(ONNX Runtime: " + msg + ")");
    }
    fail("model_load", msg);
  }
  double load_ms = pb::ms_since(t0);

  Ort::AllocatorWithDefaultOptions alloc;
  std::vector<std::string> model_inputs, model_outputs;
  for (size_t i = 0; i < session.GetInputCount(); ++i) model_inputs.push_back(session.GetInputNameAllocated(i, alloc).get());
  for (size_t i = 0; i < session.GetOutputCount(); ++i) model_outputs.push_back(session.GetOutputNameAllocated(i, alloc).get());
  {
    std::set<std::string> want(model_inputs.begin(), model_inputs.end()), have;
    for (auto& in : inputs) have.insert(in.name);
    if (want != have) {
      std::string a, b;
      for (auto& in : inputs) a += (a.empty() ? "" : ", ") + in.name;
      for (auto& n : model_inputs) b += (b.empty() ? "" : ", ") + n;
      fail("input_mismatch", "spec inputs [" + a + "] do not match the model's inputs [" + b + "]");
    }
  }
  // Element type, rank and fixed dimensions against the model's own declaration (a symbolic
  // dimension takes any size): an input mismatch is named from the model, not from a run's error text.
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    auto ti = session.GetInputTypeInfo(i);
    if (ti.GetONNXType() != ONNX_TYPE_TENSOR) continue;
    auto tsi = ti.GetTensorTypeAndShapeInfo();
    const InputArg& in = *std::find_if(inputs.begin(), inputs.end(), [&](const InputArg& a) { return a.name == model_inputs[i]; });
    auto declared = tsi.GetShape();
    auto dims = [](const std::vector<int64_t>& v) {
      std::string t;
      for (auto d : v) t += (t.empty() ? "" : ", ") + (d < 0 ? std::string("?") : std::to_string(d));
      return "[" + t + "]";
    };
    if (tsi.GetElementType() != ort_type(in.dtype))
      fail("input_mismatch", "input \"" + in.name + "\": the model takes " + type_name(tsi.GetElementType()) + ", the spec gives " + in.dtype);
    bool fits = declared.empty() || declared.size() == in.shape.size();
    for (size_t k = 0; fits && k < declared.size(); ++k) fits = declared[k] < 0 || declared[k] == in.shape[k];
    if (!fits) fail("input_mismatch", "input \"" + in.name + "\": the model takes shape " + dims(declared) + ", the spec gives " + dims(in.shape));
  }
  if (cli.output_index < 0 || cli.output_index >= static_cast<int>(model_outputs.size()))
    fail("bad_spec", "output index " + std::to_string(cli.output_index) + " out of range: the model has " + std::to_string(model_outputs.size()) + " output(s)");

  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<Ort::Value> feeds;
  std::vector<const char*> in_names;
  for (auto& in : inputs) {
    feeds.push_back(Ort::Value::CreateTensor(mem, in.bytes.data(), in.bytes.size(), in.shape.data(), in.shape.size(), ort_type(in.dtype)));
    in_names.push_back(in.name.c_str());
  }
  const char* out_names[] = {model_outputs[cli.output_index].c_str()};
  Ort::RunOptions run_options;

  std::vector<Ort::Value> out;
  pb::Timing timing;
  try {
    // Each timed result is dropped at once, as a bare loop does; the digest is the first inference's.
    timing = pb::timed_loop(
        cli, [&] { out = session.Run(run_options, in_names.data(), feeds.data(), feeds.size(), out_names, 1); },
        [&] { session.Run(run_options, in_names.data(), feeds.data(), feeds.size(), out_names, 1); });
  } catch (const Ort::Exception& e) {
    // The inputs were checked against the model's declaration above: what fails now is the model running.
    fail("inference", e.what());
  }
  long peak = pb::peak_rss_bytes();
  long pss = pb::pss_bytes();  // both before the profiled run, so VmHWM is the timed session's

  auto info = out[0].GetTensorTypeAndShapeInfo();
  auto et = info.GetElementType();
  auto shape = info.GetShape();
  size_t n = info.GetElementCount();
  std::vector<float> f32(n);
  const void* raw = out[0].GetTensorRawData();
  switch (et) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: std::copy_n(static_cast<const float*>(raw), n, f32.begin()); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: std::copy_n(static_cast<const double*>(raw), n, f32.begin()); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: std::copy_n(static_cast<const int64_t*>(raw), n, f32.begin()); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: std::copy_n(static_cast<const int32_t*>(raw), n, f32.begin()); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: std::copy_n(static_cast<const int8_t*>(raw), n, f32.begin()); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: std::copy_n(static_cast<const uint8_t*>(raw), n, f32.begin()); break;
    default: fail("inference", "output " + model_outputs[cli.output_index] + " has element type " + type_name(et) + ", which cannot be digested as float32");
  }
  if (!cli.output_file.empty()) {
    std::ofstream f(cli.output_file, std::ios::binary);
    f.write(reinterpret_cast<const char*>(f32.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!f) fail("internal", "cannot write output file " + cli.output_file);
  }

  // Fidelity pass (runner-protocol.ts): outside the timed loop and after VmHWM, one inference per
  // sample, every model output kept, little-endian float32, sample by sample.
  json fidelity_outputs = json::array();
  if (cli.fidelity_count > 0) {
    std::ofstream fo(cli.fidelity_output, std::ios::binary);
    if (!fo) fail("internal", "cannot write fidelity output file " + cli.fidelity_output);
    std::vector<std::ifstream> files;
    for (const auto& f : cli.fidelity_inputs) {
      files.emplace_back(f, std::ios::binary);
      if (!files.back()) fail("bad_spec", "cannot open fidelity input file " + f);
    }
    std::vector<const char*> all_out;
    for (auto& n : model_outputs) all_out.push_back(n.c_str());
    try {
      for (int k = 0; k < cli.fidelity_count; ++k) {
        std::vector<Ort::Value> sample;
        std::vector<std::vector<uint8_t>> bufs(inputs.size());
        for (size_t i = 0; i < inputs.size(); ++i) {
          bufs[i].resize(inputs[i].bytes.size());
          files[i].read(reinterpret_cast<char*>(bufs[i].data()), static_cast<std::streamsize>(bufs[i].size()));
          if (static_cast<size_t>(files[i].gcount()) != bufs[i].size())
            fail("bad_spec", "fidelity input file " + cli.fidelity_inputs[i] + " holds fewer than " + std::to_string(cli.fidelity_count) + " samples");
          sample.push_back(Ort::Value::CreateTensor(mem, bufs[i].data(), bufs[i].size(), inputs[i].shape.data(), inputs[i].shape.size(), ort_type(inputs[i].dtype)));
        }
        auto outs = session.Run(run_options, in_names.data(), sample.data(), sample.size(), all_out.data(), all_out.size());
        for (size_t j = 0; j < outs.size(); ++j) {
          auto oi = outs[j].GetTensorTypeAndShapeInfo();
          auto oshape = oi.GetShape();
          if (k == 0) fidelity_outputs.push_back({{"dtype", type_name(oi.GetElementType())}, {"shape", oshape}});
          else if (fidelity_outputs[j]["shape"] != json(oshape)) fail("inference", "output " + std::to_string(j) + " changed shape at fidelity sample " + std::to_string(k));
          size_t m = oi.GetElementCount();
          std::vector<float> v(m);
          const void* p = outs[j].GetTensorRawData();
          switch (oi.GetElementType()) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: std::copy_n(static_cast<const float*>(p), m, v.begin()); break;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: std::copy_n(static_cast<const double*>(p), m, v.begin()); break;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: std::copy_n(static_cast<const int64_t*>(p), m, v.begin()); break;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: std::copy_n(static_cast<const int32_t*>(p), m, v.begin()); break;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: std::copy_n(static_cast<const int8_t*>(p), m, v.begin()); break;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: std::copy_n(static_cast<const uint8_t*>(p), m, v.begin()); break;
            default: fail("inference", "fidelity pass: output " + model_outputs[j] + " has element type " + type_name(oi.GetElementType()));
          }
          fo.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(m * sizeof(float)));
        }
      }
    } catch (const Ort::Exception& e) {
      fail("inference", std::string("fidelity pass: ") + e.what());
    }
    fo.close();
    if (!fo) fail("internal", "cannot write fidelity output file " + cli.fidelity_output);
  }

  // Evidence of the backend used: one profiled inference in this same session.
  std::vector<Placement> placements;
  try {
    Ort::RunOptions profiled;
    profiled.EnableProfiling(profile_prefix.c_str());
    session.Run(profiled, in_names.data(), feeds.data(), feeds.size(), out_names, 1);
    placements = placements_from_profile(newest_profile(profile_prefix));
  } catch (const std::exception& e) {
    fail("internal", std::string("could not establish the backend used from ONNX Runtime's profile: ") + e.what());
  }
  std::set<std::string> providers;
  std::vector<Placement> compute, offenders;
  for (auto& p : placements) {
    providers.insert(p.provider);
    if (kMemcpy.count(p.op)) continue;
    compute.push_back(p);
    if (p.provider != expected_provider) offenders.push_back(p);
  }
  if (compute.empty()) fail("internal", "backend '" + backend + "' not established: the profiled inference recorded no node executions");
  if (!offenders.empty()) {
    std::string reason = std::to_string(offenders.size()) + " of " + std::to_string(compute.size()) + " nodes ran outside " + expected_provider + ": " + describe(offenders);
    if (vulkan || nnapi) unsupported(std::string("not every node ran on the ") + (nnapi ? "NNAPI" : "WebGPU") + " EP although CPU fallback was disabled: " + reason);
    fail("internal", "backend '" + backend + "' not established: " + reason);
  }

  json result = {
      {"status", "ok"},
      {"runtimeVersion", Ort::GetVersionString()},
      {"modelLoadMs", load_ms},
      {"firstInferenceMs", timing.first_ms},
      {"iterationsUs", timing.iterations_us},
      {"peakRssBytes", peak},
      {"pssBytes", pss},
      {"outputDtype", type_name(et)},
      {"outputShape", shape},
      {"backendUsed", backend},
      {"detail",
       {{"executionProviders", std::vector<std::string>(providers.begin(), providers.end())},
        {"requestedExecutionProviders", std::vector<std::string>{vulkan ? "webgpu" : nnapi ? "nnapi" : "cpu"}},
        {"profiledNodes", compute.size()},
        {"backendEvidence", "onnxruntime per-run profile (RunOptions profiling) of one inference in the timed session, after timing: per-node provider"},
        {"cpuFallback", vulkan || nnapi ? "disabled" : "n/a"},
        {"intraOpNumThreads", cli.threads},
        {"api", "C API " + std::to_string(ORT_API_VERSION) + " (native ort-runner, no Node)"}}},
  };
  if (cli.fidelity_count > 0) result["fidelityOutputs"] = fidelity_outputs;
  emit_and_exit(result, 0);
}
