// edgequant eval MODEL.onnx --dataset fashion-mnist:test | --data F --labels F: top-1/top-5.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "classify.h"
#include "edgequant/dataset.h"
#include "json_writer.h"
#include "progress.h"
#include "verbs.h"

namespace eqcli {

const Command& eval_command() {
  static const Command c{
      "eval",
      {"MODEL.onnx"},
      "Measure top-1 and top-5 accuracy of a classifier on a labelled dataset, in fp32.",
      "Datasets: --dataset fashion-mnist:test (or :train) reads Debian's dataset-fashion-mnist or\n"
      "$EDGEQUANT_FASHION_MNIST_DIR; --data/--labels take IDX (optionally .gz), .npy or .npz files\n"
      "(u8 images are scaled to [0,1] and normalised with the Fashion-MNIST mean/std unless --raw;\n"
      "float data is used as is). Output 0 of the model must be logits [N, classes].\n"
      "A progress bar is drawn on stderr when it is a terminal. --json prints exactly one JSON object:\n"
      "model, dataset, samples, batch, threads, top1, top5 (percent), correct_top1, correct_top5,\n"
      "seconds (inference only), images_per_second, load_seconds.",
      {{"--dataset", "-d", "NAME", "a named dataset: fashion-mnist:test, fashion-mnist:train"},
       {"--data", "", "FILE", "images file (IDX/.gz, .npy, .npz)"},
       {"--labels", "", "FILE", "labels file (IDX/.gz, .npy, .npz); optional for an .npz holding both"},
       {"--raw", "", "", "do not normalise u8 --data images (only scale to [0,1])"},
       {"--limit", "-n", "N", "evaluate only the first N samples"},
       {"--batch", "-b", "B", "batch size (default 64)"},
       threads_option(),
       simulate_option(),
       delegate_option(),
       {"--json", "", "", "print one JSON object instead of the report"}},
  };
  return c;
}

int run_eval(const Args& args) {
  const std::string model_path = args.positionals()[0];
  const bool json = args.has("--json");
  const int threads = threads_from(args);
  const int64_t batch = args.get_int("--batch", 64, 1, 1 << 20);
  const int64_t limit = args.get_int("--limit", -1, 1, INT64_MAX);
  if (args.has("--dataset") && args.has("--data")) throw UsageError("give either --dataset or --data, not both");
  if (!args.has("--dataset") && !args.has("--data"))
    throw UsageError("eval needs a dataset: --dataset fashion-mnist:test, or --data FILE --labels FILE");
  if (args.has("--labels") && !args.has("--data")) throw UsageError("--labels goes with --data");
  if (args.has("--raw") && !args.has("--data")) throw UsageError("--raw goes with --data");

  const auto t_load = std::chrono::steady_clock::now();
  eq::Graph g = load_model(model_path);
  const bool quantized_model = prepare_quantized_for_execution(g, args.has("--simulate"));
  apply_delegate(g, args);
  if (g.inputs.size() != 1)
    throw eq::Error(model_path + ": eval needs a model with one input, this one has " + std::to_string(g.inputs.size()));
  const eq::Dataset ds = args.has("--data") ? eq::load_dataset_files(*args.get("--data"), args.get("--labels", ""), !args.has("--raw"))
                                            : eq::load_named_dataset(*args.get("--dataset"));
  if (!ds.labels) throw eq::Error("dataset '" + ds.name + "' has no labels (give --labels FILE)");
  const int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
  if (n == 0) throw eq::Error("dataset '" + ds.name + "' is empty");
  check_model_input(g, 0, ds.batch(0, 1), "dataset '" + ds.name + "'");
  eq::Executor exec(std::move(g), eq::ExecutorOptions{threads});
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

  const ClassifyResult cr = classify(exec, ds, n, batch, model_path);
  const int64_t top1 = cr.top1, top5 = cr.top5, classes = cr.classes;
  const double secs = cr.seconds;
  const double acc1 = 100.0 * static_cast<double>(top1) / static_cast<double>(n);
  const double acc5 = 100.0 * static_cast<double>(top5) / static_cast<double>(n);
  const double ips = secs > 0 ? static_cast<double>(n) / secs : 0;
  if (json) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("dataset", ds.name)
        .field("samples", n)
        .field("classes", classes)
        .field("batch", batch)
        .field("threads", threads)
        .field("mode", quantized_model ? (args.has("--simulate") ? "simulate" : "integer") : "float")
        .field("top1", acc1)
        .field("top5", acc5)
        .field("correct_top1", top1)
        .field("correct_top5", top5)
        .field("seconds", secs)
        .field("images_per_second", ips)
        .field("load_seconds", load_s)
        .end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("model     %s%s\n", model_path.c_str(),
              quantized_model ? (args.has("--simulate") ? "  (quantized, simulated in fp32)" : "  (quantized, integer kernels)") : "");
  std::printf("dataset   %s (%s of %s samples, batch %lld, %s)\n", ds.name.c_str(), thousands(n).c_str(),
              thousands(ds.size()).c_str(), static_cast<long long>(batch),
              threads == 0 ? "all cores" : (std::to_string(threads) + (threads == 1 ? " thread" : " threads")).c_str());
  std::printf("top-1     %.2f%%  (%s / %s)\n", acc1, thousands(top1).c_str(), thousands(n).c_str());
  std::printf("top-5     %.2f%%%s\n", acc5, classes < 5 ? strprintf("  (only %lld classes)", static_cast<long long>(classes)).c_str() : "");
  std::printf("time      %.2f s  (%s images/s; loading took %.2f s)\n", secs, thousands(static_cast<int64_t>(ips + 0.5)).c_str(), load_s);
  return 0;
}

}  // namespace eqcli
