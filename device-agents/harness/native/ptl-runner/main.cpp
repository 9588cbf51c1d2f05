// pocketbench ptl-runner: loads a .ptl with the lite interpreter, runs warmup + timed
// iterations on inputs read from raw files, writes one JSON result line to stdout.
// The supervisor (device-agents/harness/src) owns the spec, the time budget and the report;
// this program only measures, so it stays small enough to port to Android's NDK unchanged.
//
// Usage: ptl-runner --model PATH --threads N --warmup N --iterations N --min-duration-ms N
//                   --input FILE:DTYPE:D0xD1x... [--input ...] --output-index I --output-file PATH
//                   [--fidelity-count N --fidelity-input FILE [--fidelity-input ...] --fidelity-output PATH]
//        ptl-runner --version
// Fidelity pass (after the timed loop, never timed): each --fidelity-input holds N samples of the
// matching --input back to back; every sample runs once and all tensor outputs are appended to
// --fidelity-output as little-endian float32 (sample by sample, outputs in order).
#include "../common/runner.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/mobile/import.h>
#include <torch/csrc/jit/mobile/module.h>
#include <torch/script.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using pb::fail;

// A c10::Error's what() goes on with "Exception raised from ..." and a C++ backtrace; a report
// needs only the message before it.
std::string message_of(const std::exception& e) {
  std::string s = e.what();
  auto cut = s.find("\nException raised from");
  if (cut != std::string::npos) s.resize(cut);
  if (s.size() > 2000) s.resize(2000);
  return s;
}

struct InputArg {
  std::string file;
  c10::ScalarType dtype;
  std::vector<int64_t> shape;
};

c10::ScalarType parse_dtype(const std::string& s) {
  if (s == "float32") return c10::kFloat;
  if (s == "int64") return c10::kLong;
  if (s == "int32") return c10::kInt;
  if (s == "uint8") return c10::kByte;
  fail("bad_spec", "unsupported input dtype '" + s + "' (float32, int64, int32, uint8)");
}

InputArg parse_input(const std::string& arg) {
  auto in = pb::split_input(arg, "FILE:DTYPE:SHAPE");
  return {in.file, parse_dtype(in.dtype), in.shape};
}

at::Tensor load_input(const InputArg& in) {
  auto t = torch::empty(in.shape, torch::TensorOptions().dtype(in.dtype));
  std::ifstream f(in.file, std::ios::binary);
  if (!f) fail("bad_spec", "cannot open input file " + in.file);
  f.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (static_cast<size_t>(f.gcount()) != t.nbytes()) fail("bad_spec", "input file " + in.file + " is shorter than its shape");
  return t;
}

// Every tensor output in order: a tensor, or the tensors of a tuple or list.
std::vector<at::Tensor> all_outputs(const c10::IValue& out) {
  std::vector<at::Tensor> v;
  if (out.isTensor()) v.push_back(out.toTensor());
  else if (out.isTuple()) {
    for (const auto& e : out.toTupleRef().elements()) if (e.isTensor()) v.push_back(e.toTensor());
  } else if (out.isList()) {
    auto list = out.toList();
    for (size_t i = 0; i < list.size(); ++i) {
      c10::IValue e = list.get(i);
      if (e.isTensor()) v.push_back(e.toTensor());
    }
  }
  if (v.empty()) fail("inference", "model output has no tensor");
  return v;
}

at::Tensor pick_output(const c10::IValue& out, int index) {
  if (out.isTensor()) return out.toTensor();
  if (out.isTuple()) {
    auto elems = out.toTupleRef().elements();
    if (index < 0 || index >= static_cast<int>(elems.size()) || !elems[index].isTensor())
      fail("bad_spec", "output index " + std::to_string(index) + " is not a tensor output");
    return elems[index].toTensor();
  }
  if (out.isList()) {
    auto list = out.toList();
    if (index < 0 || index >= static_cast<int>(list.size())) fail("bad_spec", "output index out of range");
    return list.get(index).toTensor();
  }
  fail("inference", "model output is neither a tensor, a tuple nor a list");
}

}  // namespace

int main(int argc, char** argv) {
  pb::no_core_dumps();
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << TORCH_VERSION << std::endl;
    return 0;
  }
  const pb::RunnerArgs cli = pb::parse_runner_args(argc, argv, {});
  std::vector<InputArg> inputs;
  for (const auto& arg : cli.inputs) inputs.push_back(parse_input(arg));

  at::set_num_threads(cli.threads);
  // qnnpack (PyTorch Mobile's int8 kernels, written for ARM) when this libtorch has it; Debian's
  // arm64 libtorch 1.13 is built without it, and runs quantized ops on oneDNN instead. The report
  // names the engine that ran, never the one we would have liked.
  const auto& engines = at::globalContext().supportedQEngines();
  auto has_engine = [&](at::QEngine e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
  std::string qengine = "none";
  if (has_engine(at::QEngine::QNNPACK)) {
    at::globalContext().setQEngine(at::QEngine::QNNPACK);
    qengine = "qnnpack";
  } else if (has_engine(at::QEngine::ONEDNN)) {
    at::globalContext().setQEngine(at::QEngine::ONEDNN);
    qengine = "onednn";
  }
  std::string supported_engines;
  for (auto e : engines) supported_engines += std::string(supported_engines.empty() ? "" : ",") + "\"" + c10::toString(e) + "\"";
  // XNNPACK runs the prepacked:: ops optimize_for_mobile puts in fp32 models; whether this
  // libtorch has it is reported, and a model that needs it where it is missing is unsupported.
  const bool xnnpack = at::globalContext().isXNNPACKAvailable();
  c10::InferenceMode guard;

  std::vector<c10::IValue> args;
  try {
    for (const auto& in : inputs) args.emplace_back(load_input(in));
  } catch (const std::exception& e) {
    fail("bad_spec", message_of(e));
  }

  auto t0 = pb::Clock::now();
  torch::jit::mobile::Module module;
  try {
    module = torch::jit::_load_for_mobile(cli.model);
  } catch (const std::exception& e) {
    fail("model_load", message_of(e));
  }
  double load_ms = pb::ms_since(t0);

  // The backend used, from the model's own operator list rather than the request: the lite
  // interpreter runs every op on its CPU kernels, except ops a mobile GPU pass inserted
  // (vulkan_prepack::, metal_prepack::), which this libtorch cannot run anyway. prepacked:: ops are
  // XNNPACK (optimize_for_mobile), quantized:: ops run on the quantized engine chosen above; both on the CPU.
  std::set<std::string> ops;
  try {
    ops = torch::jit::mobile::_export_operator_list(module);
  } catch (const std::exception& e) {
    fail("model_load", "cannot list the model's operators: " + message_of(e));
  }
  std::vector<std::string> xnnpack_ops, quantized_ops;
  std::string backend_used = "cpu";
  for (const auto& op : ops) {
    if (op.rfind("prepacked::", 0) == 0) xnnpack_ops.push_back(op);
    else if (op.rfind("quantized::", 0) == 0) quantized_ops.push_back(op);
    else if (op.rfind("vulkan_prepack::", 0) == 0) backend_used = "vulkan";
    else if (op.rfind("metal_prepack::", 0) == 0) backend_used = "metal";
  }

  if (!quantized_ops.empty() && qengine == "none")
    pb::unsupported("the model has quantized ops and this libtorch " TORCH_VERSION " has no quantized engine (neither qnnpack nor oneDNN)");
  if (!xnnpack_ops.empty() && !xnnpack)
    pb::unsupported("the model has XNNPACK ops (prepacked::, from optimize_for_mobile) and this libtorch " TORCH_VERSION " is built without XNNPACK");

  c10::IValue out;
  pb::Timing timing;
  try {
    // The output digested is the first inference's (same input, same model).
    timing = pb::timed_loop(cli, [&] { out = module.forward(args); }, [&] { module.forward(args); });
  } catch (const std::exception& e) {
    fail("inference", message_of(e));
  }

  at::Tensor result = pick_output(out, cli.output_index);
  std::string out_dtype = c10::toString(result.scalar_type());
  std::vector<int64_t> out_shape(result.sizes().begin(), result.sizes().end());
  if (!cli.output_file.empty()) {
    at::Tensor f32 = result.to(c10::kFloat).contiguous();
    std::ofstream f(cli.output_file, std::ios::binary);
    f.write(static_cast<const char*>(f32.data_ptr()), static_cast<std::streamsize>(f32.nbytes()));
    if (!f) fail("io", "cannot write output file " + cli.output_file);
  }

  // Read before the fidelity pass, so the peak is the timed loop's.
  long peak_rss = pb::peak_rss_bytes();
  long pss = pb::pss_bytes();

  // Fidelity pass: outside the timed loop, one inference per sample, every output kept.
  std::vector<std::pair<std::string, std::vector<int64_t>>> fidelity_shapes;
  if (cli.fidelity_count > 0) {
    std::ofstream fo(cli.fidelity_output, std::ios::binary);
    if (!fo) fail("internal", "cannot write fidelity output file " + cli.fidelity_output);
    std::vector<std::ifstream> files;
    for (const auto& f : cli.fidelity_inputs) {
      files.emplace_back(f, std::ios::binary);
      if (!files.back()) fail("bad_spec", "cannot open fidelity input file " + f);
    }
    try {
      for (int k = 0; k < cli.fidelity_count; ++k) {
        std::vector<c10::IValue> sample;
        for (size_t i = 0; i < inputs.size(); ++i) {
          auto t = torch::empty(inputs[i].shape, torch::TensorOptions().dtype(inputs[i].dtype));
          files[i].read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
          if (static_cast<size_t>(files[i].gcount()) != t.nbytes())
            fail("bad_spec", "fidelity input file " + cli.fidelity_inputs[i] + " holds fewer than " + std::to_string(cli.fidelity_count) + " samples");
          sample.emplace_back(t);
        }
        auto outs = all_outputs(module.forward(sample));
        if (k == 0) {
          for (const auto& o : outs)
            fidelity_shapes.emplace_back(c10::toString(o.scalar_type()), std::vector<int64_t>(o.sizes().begin(), o.sizes().end()));
        } else if (outs.size() != fidelity_shapes.size()) {
          fail("inference", "the model returned a different number of outputs for fidelity sample " + std::to_string(k));
        }
        for (size_t j = 0; j < outs.size(); ++j) {
          std::vector<int64_t> shape(outs[j].sizes().begin(), outs[j].sizes().end());
          if (shape != fidelity_shapes[j].second) fail("inference", "output " + std::to_string(j) + " changed shape at fidelity sample " + std::to_string(k));
          at::Tensor f32 = outs[j].to(c10::kFloat).contiguous();
          fo.write(static_cast<const char*>(f32.data_ptr()), static_cast<std::streamsize>(f32.nbytes()));
        }
      }
    } catch (const std::exception& e) {
      fail("inference", "fidelity pass: " + message_of(e));
    }
    fo.close();
    if (!fo) fail("internal", "cannot write fidelity output file " + cli.fidelity_output);
  }

  std::ostringstream js;
  js.precision(12);
  js << "{\"status\":\"ok\",\"runtimeVersion\":\"" << TORCH_VERSION << "\",\"qengine\":\"" << qengine << "\""
     << ",\"threads\":" << at::get_num_threads() << ",\"modelLoadMs\":" << load_ms
     << ",\"firstInferenceMs\":" << timing.first_ms << ",\"outputDtype\":\"" << pb::json_escape(out_dtype) << "\",\"outputShape\":[";
  for (size_t i = 0; i < out_shape.size(); ++i) js << (i ? "," : "") << out_shape[i];
  js << "],\"peakRssBytes\":" << peak_rss << ",\"pssBytes\":" << pss << ",\"iterationsUs\":[";
  for (size_t i = 0; i < timing.iterations_us.size(); ++i) js << (i ? "," : "") << timing.iterations_us[i];
  js << "],\"backendUsed\":\"" << backend_used << "\",\"detail\":{\"qengine\":\"" << qengine << "\",\"supportedQEngines\":[" << supported_engines
     << "],\"xnnpackAvailable\":" << (xnnpack ? "true" : "false") << ",\"operatorCount\":" << ops.size() << ",\"xnnpackOps\":[";
  for (size_t i = 0; i < xnnpack_ops.size(); ++i) js << (i ? "," : "") << '"' << pb::json_escape(xnnpack_ops[i]) << '"';
  js << "],\"quantizedOps\":[";
  for (size_t i = 0; i < quantized_ops.size(); ++i) js << (i ? "," : "") << '"' << pb::json_escape(quantized_ops[i]) << '"';
  js << "]}";
  if (cli.fidelity_count > 0) {
    js << ",\"fidelityOutputs\":[";
    for (size_t j = 0; j < fidelity_shapes.size(); ++j) {
      js << (j ? "," : "") << "{\"dtype\":\"" << pb::json_escape(fidelity_shapes[j].first) << "\",\"shape\":[";
      for (size_t d = 0; d < fidelity_shapes[j].second.size(); ++d) js << (d ? "," : "") << fidelity_shapes[j].second[d];
      js << "]}";
    }
    js << "]";
  }
  js << "}";
  std::cout << js.str() << std::endl;
  return 0;
}
