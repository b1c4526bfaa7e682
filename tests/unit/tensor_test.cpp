#include <gtest/gtest.h>

#include "edgequant/attrs.h"
#include "edgequant/tensor.h"

namespace eq {

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_storage_bytes(DType::f32, 3), 12u);
  EXPECT_EQ(dtype_storage_bytes(DType::i4, 3), 2u);  // packed, two per byte
  EXPECT_EQ(dtype_storage_bytes(DType::i64, 2), 16u);
  EXPECT_EQ(dtype_from_name("i8"), DType::i8);
  EXPECT_THROW(dtype_from_name("f64"), Error);
}

TEST(Shape, BroadcastAndBatch) {
  EXPECT_EQ(broadcast_shapes({kBatch, 3, 1}, {4}, "t"), (Shape{kBatch, 3, 4}));
  EXPECT_EQ(broadcast_shapes({2, 1}, {1, 5}, "t"), (Shape{2, 5}));
  EXPECT_THROW(broadcast_shapes({2, 3}, {4}, "t"), Error);
  EXPECT_EQ(shape_str({kBatch, 3}), "[N,3]");
  EXPECT_EQ(shape_with_batch({kBatch, 3}, 8), (Shape{8, 3}));
  EXPECT_THROW(shape_numel({kBatch, 3}), Error);
  EXPECT_EQ(normalize_axis(-1, 4, "t"), 3);
  EXPECT_THROW(normalize_axis(4, 4, "t"), Error);
}

TEST(Tensor, TypedAccessIsChecked) {
  Tensor t = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(t.numel(), 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  EXPECT_THROW(t.data<int8_t>(), Error);
  Tensor r = t.reshaped({4});
  EXPECT_EQ(r.data<float>(), t.data<float>());  // shares storage
  Tensor c = t.clone();
  c.data<float>()[0] = 9;
  EXPECT_FLOAT_EQ(t.data<float>()[0], 1);
  EXPECT_FALSE(c.identical(t));
  EXPECT_THROW(t.reshaped({3}), Error);
  EXPECT_EQ(Tensor::from_vector<int32_t>({3}, {1, -2, 3}).to_int64_vector(), (std::vector<int64_t>{1, -2, 3}));
}

TEST(Attrs, TypedGettersAndErrors) {
  Attrs a;
  a.set("k", int64_t{3});
  a.set("xs", std::vector<int64_t>{1, 2});
  EXPECT_EQ(a.i("k"), 3);
  EXPECT_DOUBLE_EQ(a.f("k"), 3.0);
  EXPECT_EQ(a.i("missing", 7), 7);
  EXPECT_THROW(a.s("k"), Error);
  EXPECT_THROW(a.i("missing"), Error);
  EXPECT_EQ(a.ints("xs").size(), 2u);
}

}  // namespace eq
