// Thread count for one executor run: our kernels' OpenMP loops and oneDNN (built on the same
// OpenMP runtime) follow it. Set per run and restored after, so two executors with different
// settings do not fight.
#pragma once
#include <omp.h>

namespace eq {

class ScopedThreads {
 public:
  explicit ScopedThreads(int threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

// Runs body(begin, end) over [0, n) split across the current thread count; serial when n is small.
template <class F>
void parallel_for(long n, long grain, F body) {
  if (n <= grain) {
    body(0L, n);
    return;
  }
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const long chunk = (n + nt - 1) / nt;
    const long b = t * chunk, e = b + chunk < n ? b + chunk : n;
    if (b < e) body(b, e);
  }
}

}  // namespace eq
