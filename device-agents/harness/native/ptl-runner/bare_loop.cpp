// The simplest possible timing loop over the lite interpreter, with no harness around it:
// the reference the overhead benchmark (bench/harness) compares ptl-runner against.
// Usage: ptl-bare-loop MODEL THREADS WARMUP ITERATIONS INPUT_FILE N0xN1x...   (float32 input)
// Prints the per-iteration times in µs as a JSON array.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/mobile/import.h>
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s MODEL THREADS WARMUP ITERATIONS INPUT_FILE SHAPE\n", argv[0]);
    return 2;
  }
  at::set_num_threads(std::stoi(argv[2]));
  at::globalContext().setQEngine(at::QEngine::QNNPACK);
  c10::InferenceMode guard;
  std::vector<int64_t> shape;
  std::stringstream dims(argv[6]);
  for (std::string d; std::getline(dims, d, 'x');) shape.push_back(std::stoll(d));
  auto input = torch::empty(shape);
  std::ifstream(argv[5], std::ios::binary).read(static_cast<char*>(input.data_ptr()), input.nbytes());
  auto module = torch::jit::_load_for_mobile(argv[1]);
  std::vector<c10::IValue> args{input};
  for (int i = 0, n = std::stoi(argv[3]); i < n; ++i) module.forward(args);
  int n = std::stoi(argv[4]);
  std::vector<double> us(n);
  for (int i = 0; i < n; ++i) {
    auto s = std::chrono::steady_clock::now();
    module.forward(args);
    us[i] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s).count();
  }
  std::printf("[");
  for (int i = 0; i < n; ++i) std::printf("%s%.3f", i ? "," : "", us[i]);
  std::printf("]\n");
  return 0;
}
