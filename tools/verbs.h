// The verbs of the `edgequant` command, one file each (cmd_<verb>.cpp), and helpers they share.
#pragma once
#include <string>
#include <vector>

#include "cli_args.h"
#include "edgequant/executor.h"
#include "edgequant/graph.h"

namespace eq::tflite {
struct ExportOptions;
struct ExportReport;
}  // namespace eq::tflite

namespace eqcli {

class JsonWriter;

struct Verb {
  const Command& (*command)();
  int (*run)(const Args& args);
};

const Command& inspect_command();
int run_inspect(const Args& args);
const Command& run_command();
int run_run(const Args& args);
const Command& eval_command();
int run_eval(const Args& args);
const Command& bench_command();
int run_bench(const Args& args);
const Command& quantize_command();
int run_quantize(const Args& args);
const Command& compare_command();
int run_compare(const Args& args);
const Command& partition_command();
int run_partition(const Args& args);
const Command& demo_command();
int run_demo(const Args& args);
const Command& export_command();
int run_export(const Args& args);
// TFLite export options and report, shared by `export` and `quantize --format tflite`
// (cmd_export.cpp): --float-io, --float-fallback; the one-line summary; the report's JSON fields
// (written into the object `j` is in).
Option float_io_option();
Option float_fallback_option();
eq::tflite::ExportOptions export_options_from(const Args& args);
std::string export_summary(const eq::tflite::ExportReport& r);
void write_export_report(JsonWriter& j, const eq::tflite::ExportReport& r);

// All verbs, in the order `edgequant --help` lists them.
const std::vector<Verb>& verbs();

// ---- shared helpers (cli_common.cpp) ----

// The --threads option (default 2; 0 = all cores) and its value.
Option threads_option();
int threads_from(const Args& args);
// Loads an ONNX model, with a clear error for a missing or unreadable file.
eq::Graph load_model(const std::string& path);
// "1.23 MB", "512 B".
std::string human_bytes(double bytes);
// "1,234,567".
std::string thousands(int64_t n);
// printf into a std::string.
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// The file name part of a path.
std::string base_name(const std::string& path);
// A loaded model made ready to run: a QDQ model is lowered to integer kernels unless `simulate`
// (fake-quant fp32: the Q/DQ pairs run in float). Returns whether the graph held Q/DQ nodes.
bool prepare_quantized_for_execution(eq::Graph& g, bool simulate);
// The --simulate option.
Option simulate_option();
// The --delegate option, and applying it to a graph made ready by prepare_quantized_for_execution:
// XNNPACK partitions replace the integer ops it supports. Returns the number of nodes delegated,
// -1 without --delegate.
Option delegate_option();
int apply_delegate(eq::Graph& g, const Args& args);

}  // namespace eqcli

namespace eqcli {
// Checks that `t` (read from `origin`) fits graph input `i` (dtype, rank, static dims); throws
// eq::Error naming the file and the input otherwise.
void check_model_input(const eq::Graph& g, size_t i, const eq::Tensor& t, const std::string& origin);
// "input f32 [N,1,28,28]" for graph input/output value `id`.
std::string describe_value(const eq::Graph& g, int id);
}  // namespace eqcli
