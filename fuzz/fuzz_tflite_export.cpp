// libFuzzer target: arbitrary bytes -> eq::onnx::load_from_bytes -> eq::tflite::export_to_bytes,
// once as plain integer export and once with float fallback islands and float model IO.
//
// Only eq::Error is an acceptable failure. Beyond crashes, leaks and undefined behaviour, these
// abort (so libFuzzer reports them):
//   - an eq::Error whose message starts with "internal": the exporter's own invariant checks
//     (including its final self-verification), which no input should reach;
//   - a file export_to_bytes returns that fails eq::tflite::verify, or breaks the rules the TFLite
//     interpreter checks when it allocates tensors and the verifier does not (dataflow order,
//     constant sizes, quantization vector lengths; see structure_error);
//   - nondeterminism: a second export of the same graph giving other bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgequant/onnx.h"
#include "edgequant/tflite.h"
#include "tflite_subset_generated.h"

namespace {

namespace fb = ::tflite;

size_t element_size(fb::TensorType t) {
  switch (t) {
    case fb::TensorType::FLOAT32: case fb::TensorType::INT32: return 4;
    case fb::TensorType::INT64: case fb::TensorType::COMPLEX64: return 8;
    case fb::TensorType::FLOAT16: case fb::TensorType::INT16: return 2;
    default: return 1;
  }
}

// What eq::tflite::verify leaves out and an interpreter rejects: an operator reading a tensor
// nothing wrote yet (not a constant, not a model input, not an earlier operator's output), a
// tensor written twice or a constant written at all, a model output nothing writes, a
// negative dimension, a constant whose data size is not its shape's, a quantization whose
// scale / zero_point vectors disagree with each other or with the quantized dimension, a scale
// that is not positive and finite, an int16 zero point other than 0, or a QUANTIZE output /
// DEQUANTIZE input without quantization. Called on a file that
// verifies; "" when fine. Tensors with no elements are exempt from the dataflow rules.
std::string structure_error(const std::string& bytes) {
  const fb::Model* m = fb::GetModel(bytes.data());
  const fb::SubGraph* sg = m->subgraphs()->Get(0);
  const size_t n = sg->tensors() ? sg->tensors()->size() : 0;
  std::vector<char> empty(n, 0), ready(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const fb::Tensor* t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string name = t->name() ? t->name()->str() : "#" + std::to_string(i);
    const fb::Buffer* b = m->buffers()->Get(t->buffer());
    size_t elements = 1;
    if (t->shape())
      for (int32_t d : *t->shape()) {
        if (d < 0) return "tensor '" + name + "' has dimension " + std::to_string(d);
        elements *= static_cast<size_t>(d);
      }
    // A tensor with no elements has nothing to read or write (TFLite stores an empty constant,
    // such as the begin vector of a rank-0 STRIDED_SLICE, as a buffer without data): exempt.
    empty[i] = elements == 0;
    if (b->data() && b->data()->size() > 0) {
      ready[i] = 1;
      if (b->data()->size() != elements * element_size(t->type()))
        return "constant '" + name + "' holds " + std::to_string(b->data()->size()) + " bytes for " +
               std::to_string(elements) + " elements";
    }
    if (const fb::QuantizationParameters* q = t->quantization(); q && q->scale() && q->scale()->size() > 0) {
      const size_t scales = q->scale()->size();
      if (!q->zero_point() || q->zero_point()->size() != scales)
        return "tensor '" + name + "': scale and zero_point lengths differ";
      for (float s : *q->scale())
        if (!(s > 0.0f) || s != s || s > 3.4e38f) return "tensor '" + name + "': scale " + std::to_string(s);
      if (t->type() == fb::TensorType::INT16)
        for (int64_t z : *q->zero_point())
          if (z != 0) return "int16 tensor '" + name + "': zero point " + std::to_string(z) + " (TFLite needs 0)";
      if (scales > 1) {
        const int qd = q->quantized_dimension();
        if (!t->shape() || qd < 0 || static_cast<size_t>(qd) >= t->shape()->size() ||
            static_cast<size_t>(t->shape()->Get(static_cast<flatbuffers::uoffset_t>(qd))) != scales)
          return "tensor '" + name + "': " + std::to_string(scales) + " scales for quantized_dimension " +
                 std::to_string(qd);
      }
    }
  }
  if (sg->inputs())
    for (int32_t i : *sg->inputs()) ready[static_cast<size_t>(i)] = 1;
  if (sg->operators())
    for (flatbuffers::uoffset_t k = 0; k < sg->operators()->size(); ++k) {
      const fb::Operator* op = sg->operators()->Get(k);
      if (op->inputs())
        for (int32_t i : *op->inputs())
          if (i >= 0 && !ready[static_cast<size_t>(i)] && !empty[static_cast<size_t>(i)])
            return "operator " + std::to_string(k) + " reads tensor " + std::to_string(i) + " before anything writes it";
      // QUANTIZE writes, and DEQUANTIZE reads, a quantized tensor (LiteRT's Prepare checks).
      const fb::BuiltinOperator code = m->operator_codes()->Get(op->opcode_index())->builtin_code();
      const flatbuffers::Vector<int32_t>* qside = code == fb::BuiltinOperator::QUANTIZE     ? op->outputs()
                                                  : code == fb::BuiltinOperator::DEQUANTIZE ? op->inputs()
                                                                                            : nullptr;
      if (qside && qside->size() > 0) {
        const fb::Tensor* t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(qside->Get(0)));
        if (!t->quantization() || !t->quantization()->scale() || t->quantization()->scale()->size() == 0)
          return "operator " + std::to_string(k) + " (" + fb::EnumNameBuiltinOperator(code) +
                 ") has an unquantized integer side";
      }
      if (op->outputs())
        for (int32_t o : *op->outputs()) {
          if (ready[static_cast<size_t>(o)] && !empty[static_cast<size_t>(o)])
            return "operator " + std::to_string(k) + " writes tensor " + std::to_string(o) +
                   ", a constant, a model input or an earlier operator's output";
          ready[static_cast<size_t>(o)] = 1;
        }
    }
  if (sg->outputs())
    for (int32_t o : *sg->outputs())
      if (!ready[static_cast<size_t>(o)] && !empty[static_cast<size_t>(o)]) return "model output tensor " + std::to_string(o) + " is never written";
  return "";
}

void fail(const char* what, const eq::tflite::ExportOptions& o, const std::string& detail) {
  std::fprintf(stderr, "fuzz_tflite_export: %s (float_fallback=%d float_io=%d): %s\n", what, o.float_fallback,
               o.float_io, detail.c_str());
  std::abort();
}

void export_checked(const eq::Graph& g, const eq::tflite::ExportOptions& options) {
  std::string first;
  try {
    first = eq::tflite::export_to_bytes(g, options);
  } catch (const eq::Error& e) {
    // An op, dtype or attribute TFLite cannot express: a clean refusal, unless it is a broken
    // invariant.
    if (std::string(e.what()).rfind("internal", 0) == 0) fail("internal error", options, e.what());
    return;
  }
  const std::string reason = eq::tflite::verify(first.data(), first.size());
  if (!reason.empty()) fail("exported file does not verify", options, reason);
  const std::string structure = structure_error(first);
  if (!structure.empty()) fail("exported file is not a valid TFLite graph", options, structure);
  std::string second;
  try {
    second = eq::tflite::export_to_bytes(g, options);
  } catch (const eq::Error& e) {
    fail("second export threw after the first succeeded", options, e.what());
  }
  if (first != second)
    fail("export is not deterministic", options,
         std::to_string(first.size()) + " vs " + std::to_string(second.size()) + " bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eq::Graph g;
  try {
    g = eq::onnx::load_from_bytes(data, size, "fuzz-input");
  } catch (const eq::Error&) {
    return 0;
  }
  eq::tflite::ExportOptions integer_only;
  export_checked(g, integer_only);
  eq::tflite::ExportOptions islands;
  islands.float_fallback = true;
  islands.float_io = true;
  export_checked(g, islands);
  return 0;
}
