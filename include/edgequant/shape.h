// Shapes are static except for one symbolic dimension: the batch. In a graph's value shapes the
// batch is written kBatch (-1); the executor substitutes the real batch size before it plans.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace eq {

using Shape = std::vector<int64_t>;

// The symbolic batch dimension inside a Shape.
inline constexpr int64_t kBatch = -1;
// The batch dimension inside a shape *value* (the int64 data of a Reshape target, say), where -1
// already means "infer". Import writes it where a Shape op read the symbolic batch.
inline constexpr int64_t kBatchToken = std::numeric_limits<int64_t>::min() / 4;

// Number of elements; throws eq::Error if the shape is symbolic.
int64_t shape_numel(const Shape& s);
bool shape_is_static(const Shape& s);
// "[N,3,224,224]"
std::string shape_str(const Shape& s);
// Replaces every kBatch by `batch`.
Shape shape_with_batch(const Shape& s, int64_t batch);
// Normalises a possibly negative axis against `rank`; throws eq::Error naming `what` when out of range.
int normalize_axis(int64_t axis, int64_t rank, const std::string& what);
// Numpy broadcasting of two shapes (kBatch broadcasts like any dimension > 1); throws eq::Error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what);

}  // namespace eq
