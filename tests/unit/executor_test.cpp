// The executor against ops defined here (so these tests depend only on the executor itself):
// batch handling, input checks, plan caching, observers, and the memory plan in a real run.
#include <gtest/gtest.h>

#include "edgequant/executor.h"
#include "edgequant/kernel.h"
#include "edgequant/passes.h"

namespace eq {
namespace {

// test.scale: y = x * factor (attribute), any shape.
void register_test_ops() {
  static bool done = false;
  if (done) return;
  done = true;
  register_op_schema({"test.scale", 1, 1, 1, [](const InferContext& c) {
                        return std::vector<OutputInfo>{{c.in(0).dtype, c.in(0).shape}};
                      }});
  register_kernel("test.scale", stateless([](KernelContext& c) {
                    const float f = static_cast<float>(c.node.attrs.f("factor"));
                    const float* x = c.in(0).data<float>();
                    float* y = c.out(0).data<float>();
                    for (int64_t i = 0; i < c.in(0).numel(); ++i) y[i] = x[i] * f;
                  }));
}

// x -> scale(2) -> scale(3) -> scale(5) -> y, with a symbolic batch.
Graph chain() {
  register_test_ops();
  Graph g;
  const int x = g.add_value("x", DType::f32, {kBatch, 4});
  g.inputs = {x};
  int v = x;
  for (double f : {2.0, 3.0, 5.0}) {
    Attrs a;
    a.set("factor", f);
    const int n = g.add_node("test.scale", "/s" + std::to_string(static_cast<int>(f)), {v}, 1, a);
    infer_node(g, g.nodes[static_cast<size_t>(n)]);
    v = g.nodes[static_cast<size_t>(n)].outputs[0];
  }
  g.outputs = {v};
  return g;
}

TEST(Executor, RunsAnyBatch) {
  Executor exec(chain());
  for (int64_t batch : {1, 3, 64}) {
    Tensor x(DType::f32, {batch, 4});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i);
    Tensor y = exec.run({x})[0];
    ASSERT_EQ(y.shape(), (Shape{batch, 4}));
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], 30.0f * static_cast<float>(i));
  }
}

TEST(Executor, ArenaReusesBuffersAlongAChain) {
  Executor exec(chain());
  Tensor x(DType::f32, {64, 4});
  exec.run({x});
  // Three 1 KiB activations, but the first is dead once the third is written: two slots.
  EXPECT_EQ(exec.arena_bytes(), 2 * 1024u);
}

TEST(Executor, RejectsWrongInputs) {
  Executor exec(chain());
  EXPECT_THROW(exec.run({}), Error);
  EXPECT_THROW(exec.run({Tensor(DType::f32, {2, 5})}), Error);
  EXPECT_THROW(exec.run({Tensor(DType::i8, {2, 4})}), Error);
  try {
    exec.run({Tensor(DType::f32, {2, 4, 1})});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x'"), std::string::npos) << e.what();
  }
}

TEST(Executor, ObserverSeesEveryProducedValue) {
  Executor exec(chain());
  std::vector<float> firsts;
  exec.run({Tensor::from_vector<float>({1, 4}, {1, 1, 1, 1})},
           [&](int, const Tensor& t) { firsts.push_back(t.data<float>()[0]); });
  EXPECT_EQ(firsts, (std::vector<float>{2, 6, 30}));
}

TEST(Executor, OutputsOwnTheirStorage) {
  Executor exec(chain());
  Tensor a = exec.run({Tensor::from_vector<float>({1, 4}, {1, 1, 1, 1})})[0];
  exec.run({Tensor::from_vector<float>({1, 4}, {2, 2, 2, 2})});
  EXPECT_FLOAT_EQ(a.data<float>()[0], 30.0f);
}

TEST(Passes, FoldConstantsAndRemoveDeadCode) {
  register_test_ops();
  Graph g;
  const int x = g.add_value("x", DType::f32, {2});
  g.inputs = {x};
  const int c = g.add_constant("c", Tensor::from_vector<float>({2}, {1, 2}));
  Attrs a;
  a.set("factor", 4.0);
  const int n = g.add_node("test.scale", "/fold", {c}, 1, a);
  infer_node(g, g.nodes[static_cast<size_t>(n)]);
  const int dead = g.add_node("test.scale", "/dead", {x}, 1, a);
  infer_node(g, g.nodes[static_cast<size_t>(dead)]);
  g.outputs = {g.nodes[static_cast<size_t>(n)].outputs[0]};
  EXPECT_EQ(fold_constants(g), 1);
  EXPECT_EQ(remove_dead_code(g), 1);
  EXPECT_TRUE(g.nodes.empty());
  ASSERT_TRUE(g.is_constant(g.outputs[0]));
  EXPECT_FLOAT_EQ(g.value(g.outputs[0]).constant->data<float>()[1], 8.0f);
  g.validate();
}

TEST(Graph, SortDetectsCycles) {
  register_test_ops();
  Graph g;
  const int x = g.add_value("x", DType::f32, {2});
  g.inputs = {x};
  const int a = g.add_node("test.scale", "/a", {x}, 1);
  const int b = g.add_node("test.scale", "/b", {g.nodes[static_cast<size_t>(a)].outputs[0]}, 1);
  g.nodes[static_cast<size_t>(a)].inputs[0] = g.nodes[static_cast<size_t>(b)].outputs[0];
  g.outputs = {g.nodes[static_cast<size_t>(b)].outputs[0]};
  try {
    g.sort();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos);
  }
}

}  // namespace
}  // namespace eq
