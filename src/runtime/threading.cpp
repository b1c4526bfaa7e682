#include "threading.h"

#include <omp.h>

namespace eq {

ScopedThreads::ScopedThreads(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }

ScopedThreads::~ScopedThreads() { omp_set_num_threads(previous_); }

}  // namespace eq
