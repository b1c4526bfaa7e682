#include <sys/stat.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/xnnpack.h"
#include "verbs.h"

namespace eqcli {

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> v = {
      {inspect_command, run_inspect},
      {run_command, run_run},
      {eval_command, run_eval},
      {bench_command, run_bench},
      {quantize_command, run_quantize},
      {compare_command, run_compare},
      {partition_command, run_partition},
      {export_command, run_export},
      {demo_command, run_demo},
  };
  return v;
}

Option threads_option() { return {"--threads", "-t", "T", "worker threads (default 2; 0 = all cores)"}; }

int threads_from(const Args& args) { return static_cast<int>(args.get_int("--threads", 2, 0, 1024)); }

eq::Graph load_model(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw eq::Error(path + ": cannot open model (" + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) throw eq::Error(path + ": is a directory, not an ONNX model");
  return eq::onnx::load(path);
}

bool prepare_quantized_for_execution(eq::Graph& g, bool simulate) {
  bool qdq = false;
  for (const eq::Node& n : g.nodes) qdq |= n.op.rfind("quantized_decomposed.", 0) == 0;
  if (qdq && !simulate) eq::lower_to_integer(g);
  return qdq;
}

Option delegate_option() {
  return {"--delegate", "", "BACKEND", "run a quantized model's supported partitions on a CPU backend: xnnpack"};
}

int apply_delegate(eq::Graph& g, const Args& args) {
  if (!args.has("--delegate")) return -1;
  const std::string d = *args.get("--delegate");
  if (d != "xnnpack") throw UsageError("--delegate '" + d + "' is not a CPU backend (available: xnnpack)");
  if (args.has("--simulate")) throw UsageError("--delegate runs integer partitions; it does not go with --simulate");
  return static_cast<int>(eq::partition_for_xnnpack(g).delegated_nodes.size());
}

Option simulate_option() {
  return {"--simulate", "", "", "run a quantized (QDQ) model as fake-quant fp32 instead of integer kernels"};
}

std::string strprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? strprintf("%.0f B", b) : strprintf("%.2f %s", b, units[u]);
}

std::string thousands(int64_t n) {
  std::string d = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace eqcli

namespace eqcli {

std::string describe_value(const eq::Graph& g, int id) {
  const eq::Value& v = g.value(id);
  return "'" + v.name + "' " + std::string(eq::dtype_name(v.dtype)) + " " + eq::shape_str(v.shape);
}

void check_model_input(const eq::Graph& g, size_t i, const eq::Tensor& t, const std::string& origin) {
  const eq::Value& v = g.value(g.inputs.at(i));
  const std::string got = std::string(eq::dtype_name(t.dtype())) + " " + eq::shape_str(t.shape());
  if (t.dtype() != v.dtype)
    throw eq::Error(origin + ": " + got + " does not fit model input " + describe_value(g, g.inputs[i]) + " (wrong dtype)");
  bool ok = t.shape().size() == v.shape.size();
  for (size_t d = 0; ok && d < v.shape.size(); ++d) ok = v.shape[d] == eq::kBatch || v.shape[d] == t.shape()[d];
  if (!ok) throw eq::Error(origin + ": " + got + " does not fit model input " + describe_value(g, g.inputs[i]) + " (wrong shape)");
}

}  // namespace eqcli
