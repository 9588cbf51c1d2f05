// The simplest possible timing loop over ONNX Runtime's C API, with no harness around it: the
// reference the overhead benchmark (bench/harness) compares ort-runner against. Same session
// options as the runner (threads, sequential, all graph optimisations, cpu).
// Usage: ort-bare-loop MODEL THREADS WARMUP ITERATIONS INPUT_NAME INPUT_FILE N0xN1x...   (float32 input)
// Prints the per-iteration times in µs as a JSON array.
#include <onnxruntime_cxx_api.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s MODEL THREADS WARMUP ITERATIONS INPUT_NAME INPUT_FILE SHAPE\n", argv[0]);
    return 64;
  }
  int threads = std::stoi(argv[2]), warmup = std::stoi(argv[3]), iterations = std::stoi(argv[4]);
  std::vector<int64_t> shape;
  std::stringstream dims(argv[7]);
  std::string d;
  size_t n = 1;
  while (std::getline(dims, d, 'x')) {
    shape.push_back(std::stoll(d));
    n *= static_cast<size_t>(shape.back());
  }
  std::vector<float> data(n);
  std::ifstream(argv[6], std::ios::binary).read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(n * 4));
  Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "bare");
  Ort::SessionOptions o;
  o.SetIntraOpNumThreads(threads);
  o.SetInterOpNumThreads(1);
  o.SetExecutionMode(ORT_SEQUENTIAL);
  o.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
  Ort::Session session(env, argv[1], o);
  Ort::AllocatorWithDefaultOptions alloc;
  auto out_name = session.GetOutputNameAllocated(0, alloc);
  const char* in_names[] = {argv[5]};
  const char* out_names[] = {out_name.get()};
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, data.data(), n, shape.data(), shape.size());
  Ort::RunOptions ro;
  for (int i = 0; i < warmup; ++i) session.Run(ro, in_names, &input, 1, out_names, 1);
  std::vector<double> us;
  us.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    auto s = std::chrono::steady_clock::now();
    session.Run(ro, in_names, &input, 1, out_names, 1);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s).count());
  }
  std::printf("[");
  for (size_t i = 0; i < us.size(); ++i) std::printf("%s%.3f", i ? "," : "", us[i]);
  std::printf("]\n");
  return 0;
}
