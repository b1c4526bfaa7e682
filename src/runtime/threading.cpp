#include "threading.h"

#include <cblas.h>
#include <omp.h>

extern "C" {
// OpenBLAS's own thread control; declared here because not every cblas.h declares it.
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
}

namespace eq {

ScopedThreads::ScopedThreads(int threads) : previous_(omp_get_max_threads()) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

ScopedThreads::~ScopedThreads() {
  omp_set_num_threads(previous_);
  openblas_set_num_threads(previous_);
}

}  // namespace eq
