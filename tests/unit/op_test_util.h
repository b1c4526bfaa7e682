// Helpers shared by the op unit tests (*_ops_test.cpp): run one node through its schema and
// kernel, shape inference only, and comparisons. Kept apart from onnx_test_util.h, which builds
// ONNX protobuf models.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "edgequant/kernel.h"
#include "edgequant/ops.h"
#include "runtime/threading.h"

namespace eq::optest {

// ---- run_op / infer: one f32 op on 2 threads, with input-immutability checks ----
// (linalg_ops_test, normalization_ops_test, pooling_ops_test)

inline Tensor random_tensor(Shape s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  return t;
}

inline Node make_node(const std::string& op, size_t n_inputs, Attrs attrs) {
  Node n;
  n.name = "/test/" + op;
  n.op = op;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back(static_cast<int>(i));
  n.attrs = std::move(attrs);
  return n;
}

// Runs one op: infers its output, creates its kernel (inputs flagged in `constant` are passed as
// constants), runs it on 2 threads over NaN-filled output (kernels must not assume zeros), and
// checks the inputs were left untouched. An undefined Tensor is an omitted optional input.
inline Tensor run_op(const std::string& op, const std::vector<Tensor>& inputs, Attrs attrs,
                     std::vector<bool> constant = {},
                     std::function<std::unique_ptr<OpKernel>(const KernelCreateInfo&)> make = {}) {
  Node node = make_node(op, inputs.size(), std::move(attrs));
  std::vector<ValueInfo> infos;
  std::vector<bool> present;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool has = inputs[i].defined() && (inputs[i].numel() > 0 || !inputs[i].shape().empty());
    present.push_back(has);
    ValueInfo vi;
    if (has) {
      vi.dtype = inputs[i].dtype();
      vi.shape = inputs[i].shape();
      if (i < constant.size() && constant[i]) vi.constant = &inputs[i];
    }
    infos.push_back(vi);
  }
  std::vector<OutputInfo> outs = infer_outputs(node, infos, present, 1);
  EXPECT_EQ(outs.size(), 1u);
  ScopedThreads threads(2);
  KernelCreateInfo ci{node, infos, present, outs, 2};
  std::unique_ptr<OpKernel> kernel;
  if (make) {
    kernel = make(ci);
  } else {
    const KernelFactory* f = find_kernel(op);
    EXPECT_NE(f, nullptr) << op;
    kernel = (*f)(ci);
  }
  EXPECT_NE(kernel, nullptr);
  Tensor y(outs[0].first, outs[0].second);
  for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] = std::nanf("");
  std::vector<Tensor> copies;
  for (const Tensor& t : inputs) copies.push_back(t.defined() ? t.clone() : Tensor());
  KernelContext ctx{node, {}, {&y}};
  for (size_t i = 0; i < inputs.size(); ++i) ctx.inputs.push_back(present[i] ? &inputs[i] : nullptr);
  kernel->run(ctx);
  kernel->run(ctx);  // twice: state reused across runs must stay valid
  for (size_t i = 0; i < inputs.size(); ++i)
    if (present[i]) {
      EXPECT_TRUE(copies[i].identical(inputs[i])) << "input " << i << " was modified";
    }
  return y;
}

inline void expect_close(const Tensor& got, const std::vector<float>& want, float rel = 1e-4f, float abs_tol = 1e-5f) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(g[i], want[i], abs_tol + rel * std::fabs(want[i])) << "at flat index " << i;
}

inline void expect_error_naming_node(const std::function<void()>& fn, const std::string& node_name,
                                     const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "expected eq::Error mentioning '" << part << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(node_name), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

inline std::vector<OutputInfo> infer(const std::string& op, const std::vector<Shape>& shapes, Attrs attrs,
                                     int64_t batch = kBatch) {
  Node node = make_node(op, shapes.size(), std::move(attrs));
  std::vector<ValueInfo> infos;
  std::vector<bool> present;
  for (const Shape& s : shapes) {
    infos.push_back({DType::f32, s, nullptr});
    present.push_back(true);
  }
  return infer_outputs(node, infos, present, batch);
}

// ---- run_node / infer_shape: any dtype, outputs pre-filled with 0xCD garbage ----
// (elementwise_ops_test, movement_ops_test, quant_ops_test)

// Runs one node through its schema and kernel; outputs start as garbage (the arena is reused and
// not zeroed). Inputs given as pointers: nullptr is an omitted optional input. (A separate name:
// a two-element list of pointers would also match vector<Tensor>'s iterator-pair constructor.)
inline std::vector<Tensor> run_node_ptrs(const std::string& op, const std::vector<const Tensor*>& ins,
                                         Attrs attrs = {}, int num_outputs = 1, int64_t batch = kBatch) {
  register_builtin_op_schemas();
  register_builtin_kernels();
  Node node;
  node.name = "/test/" + op;
  node.op = op;
  node.attrs = std::move(attrs);
  node.outputs.assign(static_cast<size_t>(num_outputs), 0);
  std::vector<ValueInfo> infos;
  std::vector<bool> present;
  for (const Tensor* t : ins) {
    infos.push_back(t ? ValueInfo{t->dtype(), t->shape(), nullptr} : ValueInfo{});
    present.push_back(t != nullptr);
  }
  std::vector<OutputInfo> outs = infer_outputs(node, infos, present, batch);
  std::vector<Tensor> results;
  for (const auto& o : outs) {
    results.emplace_back(o.first, o.second);
    std::memset(results.back().raw(), 0xCD, results.back().nbytes());
  }
  const KernelFactory* f = find_kernel(op);
  if (!f) throw Error("no kernel for " + op);
  KernelCreateInfo info{node, infos, present, outs, 2};
  auto kernel = (*f)(info);
  KernelContext ctx{node, ins, {}};
  for (Tensor& r : results) ctx.outputs.push_back(&r);
  kernel->run(ctx);
  return results;
}

// The same with every input present.
inline std::vector<Tensor> run_node(const std::string& op, const std::vector<Tensor>& ins, Attrs attrs = {},
                                    int num_outputs = 1, int64_t batch = kBatch) {
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : ins) ptrs.push_back(&t);
  return run_node_ptrs(op, ptrs, std::move(attrs), num_outputs, batch);
}

// Output 0's shape from the op's schema alone.
inline Shape infer_shape(const std::string& op, const std::vector<std::pair<DType, Shape>>& ins, Attrs attrs = {},
                         int64_t batch = kBatch) {
  register_builtin_op_schemas();
  Node node;
  node.name = "/test/infer";
  node.op = op;
  node.attrs = std::move(attrs);
  std::vector<ValueInfo> infos;
  std::vector<bool> present;
  for (const auto& [d, s] : ins) {
    infos.push_back({d, s, nullptr});
    present.push_back(true);
  }
  return infer_outputs(node, infos, present, batch).at(0).second;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

}  // namespace eq::optest
