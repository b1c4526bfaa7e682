// Row-major single-precision GEMM for the fp32 kernels: C = A·op(B) + beta·C.
//
// Why oneDNN's sgemm and not OpenBLAS: Debian's OpenBLAS picks its kernels from the CPU model
// number, and on virtual CPUs that report a generic model (this project's CI machines do) it falls
// back to its Prescott (SSE3) kernels — measured 3.7× slower than its SkylakeX kernels on the MLP
// fixture. oneDNN dispatches on CPUID feature bits (AVX-512, AVX2), so it finds the fast path on
// any machine, and it shares OpenMP's thread pool with our own loops instead of spinning up a
// second pool that fights for the same two cores.
#pragma once
#include <oneapi/dnnl/dnnl.h>

#include "edgequant/error.h"

namespace eq {

inline void sgemm(bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  float beta, float* c, int64_t ldc) {
  const dnnl_status_t st = dnnl_sgemm('N', trans_b ? 'T' : 'N', m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw Error("sgemm failed (oneDNN status " + std::to_string(static_cast<int>(st)) + ")");
}

}  // namespace eq
