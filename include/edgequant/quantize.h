// The PT2E flow: prepare_pt2e → calibrate → convert_pt2e, and the passes around it.
//
//   eq::GenericQuantizer quantizer{eq::symmetric_int8_config(true)};
//   eq::Prepared p = eq::prepare_pt2e(g, quantizer);
//   for (const auto& batch : calibration) p.run({batch});
//   eq::Graph q = eq::convert_pt2e(p);          // QDQ graph (fp32 ops between Q/DQ pairs)
//   eq::Graph i = q; eq::lower_to_integer(i);   // integer kernels where a pattern matches
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgequant/executor.h"
#include "edgequant/quantizer.h"

namespace eq {

// One sharing group: positions that share one observer (or one fixed/derived qparams).
struct SharingGroup {
  std::vector<EdgeOrNode> members;
  EdgeOrNode root;
  QuantizationSpecBase spec;         // the root's spec (never a SharedQuantizationSpec)
  std::vector<int> observed_values;  // value ids the observer sees (activations; empty for fixed/derived)
  std::unique_ptr<Observer> observer;  // set for static QuantizationSpec groups
  // Dynamic quantization (QuantizationSpec::is_dynamic or ObserverKind::placeholder): nothing is
  // observed; convert_pt2e emits choose_qparams → quantize → dequantize, the qparams are chosen
  // from each tensor at run time.
  bool dynamic = false;
};

// A graph with observers attached, ready for calibration.
class Prepared {
 public:
  Prepared(Graph graph, Annotations annotations, std::vector<SkipReason> skipped, std::string quantizer_name,
           ExecutorOptions options = {});
  Prepared(Prepared&&) noexcept;
  Prepared& operator=(Prepared&&) noexcept;
  ~Prepared();

  // Runs one calibration batch (inputs in graph-input order) through the float graph, feeding
  // every activation observer; returns the float outputs. Throws eq::Error naming the tensor if
  // an observed activation holds NaN or Inf.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  int64_t batches_seen() const { return batches_; }

  const Graph& graph() const { return graph_; }  // after transform_for_annotation
  const Annotations& annotations() const { return annotations_; }
  const std::vector<SkipReason>& skipped() const { return skipped_; }
  const std::vector<SharingGroup>& groups() const { return groups_; }
  std::vector<SharingGroup>& groups() { return groups_; }
  const std::string& quantizer_name() const { return quantizer_name_; }
  // Group index of a position, -1 if the position is not quantized.
  int group_of(const EdgeOrNode& p) const;
  // The qparams of group `g` (observer, fixed or derived). Throws eq::Error if an activation
  // group saw no data, or if the group is dynamic (its qparams only exist at run time).
  QParams group_qparams(int g) const;

  // Observer state of every group, serialised (calibration in shards: save, merge, load).
  std::string save_observers() const;
  void merge_observers(const std::string& saved);

 private:
  friend Prepared prepare_pt2e(const Graph&, const Quantizer&, ExecutorOptions);
  Graph graph_;
  Annotations annotations_;
  std::vector<SkipReason> skipped_;
  std::string quantizer_name_;
  std::vector<SharingGroup> groups_;
  std::map<EdgeOrNode, int> group_of_;
  std::unique_ptr<Executor> executor_;
  std::vector<std::vector<int>> observers_of_value_;  // value id -> groups observing it
  int64_t batches_ = 0;
};

// Copies the graph, runs quantizer.transform_for_annotation, annotate and validate, builds the
// sharing groups (union-find with torchao's implicit-sharing rule) and one observer per group;
// weight observers see their constants here. Throws eq::Error for a broken sharing spec (a
// reference to a position that is not annotated, a cycle of derived specs).
Prepared prepare_pt2e(const Graph& g, const Quantizer& quantizer, ExecutorOptions options = {});

// The QDQ graph: weights stored as int8 (per tensor or per channel) behind a dequantize, bias as
// int32 behind a dequantize, a quantize → dequantize pair on every quantized activation edge and
// output. Runs as fake-quant fp32 in the executor; lower_to_integer makes it integer.
Graph convert_pt2e(const Prepared& prepared);

// PT2E's calibrate_and_quantize: prepare, run every calibration batch, convert.
// `progress(done, total)` is called after each batch when given.
Graph calibrate_and_quantize(const Graph& g, const std::vector<std::vector<Tensor>>& calibration_inputs,
                             const Quantizer& quantizer,
                             const std::function<void(size_t, size_t)>& progress = {},
                             ExecutorOptions options = {});

// ---- passes used around the flow ----

// Folds inference BatchNorm into a preceding conv1d/conv2d/conv_transpose/linear whose output
// only the BatchNorm reads (weights and bias computed in float64 and rounded once; torch folds in
// float32, so per-channel weight scales may differ from torch's by 1 ulp).
// Returns the number folded.
int fold_batch_norm(Graph& g);

// Replaces dequantize → op → quantize patterns of the QDQ graph by integer ops (quantized.*, see
// docs/ops.md) that run on int8 with int32 accumulators and TFLite's fixed-point requantization;
// what does not match stays fp32 between its Q/DQ nodes. Returns the number of ops lowered.
int lower_to_integer(Graph& g);

struct LowerOptions {
  // Also lower int16 activations (per tensor, zero point 0) as TFLite's 16x8 ops: int16
  // activations, int8 weights, int64 bias; unary functions become quantized.unary. For export
  // only: the executor has no int16 integer kernels and rejects such a graph (run the QDQ graph).
  bool int16_activations = false;
  // Fuse a sigmoid / tanh after a conv / linear into the integer op (computed through float from
  // the accumulator, as the QDQ graph does). TFLite has no such op: the exporter turns this off, so
  // such a conv / linear stays float (an island with --float-fallback, else an error naming it).
  bool fuse_float_activations = true;
};
// lower_to_integer(g) is lower_to_integer(g, LowerOptions{}).
int lower_to_integer(Graph& g, const LowerOptions& options);

}  // namespace eq
