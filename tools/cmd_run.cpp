// edgequant run MODEL.onnx --input x.npy [...] [-o out.npy | --output-dir DIR]: one fp32 run.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>

#include "edgequant/dataset.h"
#include "verbs.h"

namespace eqcli {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// Output names may hold '/' or ':' (ONNX allows anything); keep file names tame.
std::string safe_file_name(const std::string& name, size_t k) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (s.empty() || s == "." || s == "..") s = "output_" + std::to_string(k);
  return s;
}

}  // namespace

const Command& run_command() {
  static const Command c{
      "run",
      {"MODEL.onnx"},
      "Run a model once in fp32 on .npy inputs and save its outputs as .npy.",
      "Give one --input per model input, in the model's input order; the batch may be any size.\n"
      "-o out.npy writes output 0 to out.npy and output k > 0 to out.<k>.npy; --output-dir DIR writes\n"
      "every output as DIR/<output name>.npy. Without either, only the summary is printed.\n"
      "Files are written atomically (temporary file, then rename), and only after the run succeeded.",
      {{"--input", "-i", "FILE.npy", "a model input (float64 is converted to float32)", true},
       {"--output", "-o", "FILE.npy", "where output 0 goes (output k > 0: FILE.<k>.npy)"},
       {"--output-dir", "", "DIR", "write every output as DIR/<name>.npy"},
       threads_option(),
       simulate_option(),
       delegate_option()},
  };
  return c;
}

int run_run(const Args& args) {
  const std::string model_path = args.positionals()[0];
  const std::vector<std::string> input_paths = args.get_all("--input");
  if (input_paths.empty()) throw UsageError("run needs --input FILE.npy (one per model input)");
  if (args.has("--output") && args.has("--output-dir")) throw UsageError("give either -o/--output or --output-dir, not both");
  const int threads = threads_from(args);

  eq::Graph g = load_model(model_path);
  [[maybe_unused]] const bool quantized_model = prepare_quantized_for_execution(g, args.has("--simulate"));
  apply_delegate(g, args);
  if (input_paths.size() != g.inputs.size()) {
    std::string names;
    for (int v : g.inputs) names += (names.empty() ? "" : ", ") + describe_value(g, v);
    throw eq::Error(model_path + ": the model has " + std::to_string(g.inputs.size()) + " input(s) (" + names + ") but " +
                    std::to_string(input_paths.size()) + " --input file(s) were given");
  }
  std::vector<eq::Tensor> inputs;
  for (size_t i = 0; i < input_paths.size(); ++i) {
    inputs.push_back(eq::read_npy(input_paths[i]));
    check_model_input(g, i, inputs.back(), input_paths[i]);
  }

  // Where each output goes, decided (and validated) before running.
  std::vector<std::string> out_paths;
  std::vector<std::string> out_names;
  for (int v : g.outputs) out_names.push_back(g.value(v).name);
  if (auto o = args.get("--output")) {
    std::string stem = ends_with(*o, ".npy") ? o->substr(0, o->size() - 4) : *o;
    for (size_t k = 0; k < out_names.size(); ++k) out_paths.push_back(k == 0 ? *o : stem + "." + std::to_string(k) + ".npy");
  } else if (auto d = args.get("--output-dir")) {
    std::string dir = *d;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (::access(dir.c_str(), W_OK) != 0) throw eq::Error(dir + ": output directory does not exist or is not writable");
    for (size_t k = 0; k < out_names.size(); ++k) out_paths.push_back(dir + "/" + safe_file_name(out_names[k], k) + ".npy");
  }

  eq::Executor exec(std::move(g), eq::ExecutorOptions{threads});
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<eq::Tensor> outputs = exec.run(inputs);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::vector<std::string> written;
  try {
    for (size_t k = 0; k < out_paths.size() && k < outputs.size(); ++k) {
      eq::write_npy(outputs[k], out_paths[k]);
      written.push_back(out_paths[k]);
    }
  } catch (...) {
    for (const std::string& p : written) ::unlink(p.c_str());  // all outputs or none
    throw;
  }

  std::string summary;
  for (size_t k = 0; k < outputs.size(); ++k) {
    summary += (k ? "; " : "") + out_names[k] + " " + std::string(eq::dtype_name(outputs[k].dtype())) + " " +
               eq::shape_str(outputs[k].shape());
    if (k < out_paths.size()) summary += " -> " + out_paths[k];
  }
  std::printf("%s (%.2f ms, %s)\n", summary.c_str(), ms,
              threads == 0 ? "all cores" : (std::to_string(threads) + (threads == 1 ? " thread" : " threads")).c_str());
  return 0;
}

}  // namespace eqcli
