// parallel_for over [0, n) with plain threads: each of up to `threads` workers takes
// contiguous slices from a shared counter.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace gtn::curate {

inline int resolve_threads(int n_threads) {
  if (n_threads > 0) return n_threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls f(i, worker) for every i in [0, n); worker in [0, threads).
template <typename F>
void parallel_for(size_t n, int threads, F&& f, size_t grain = 16) {
  if (n == 0) return;
  size_t workers = std::min<size_t>(static_cast<size_t>(std::max(1, threads)), (n + grain - 1) / grain);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) f(i, 0);
    return;
  }
  std::atomic<size_t> next{0};
  auto body = [&](size_t worker) {
    for (;;) {
      size_t begin = next.fetch_add(grain);
      if (begin >= n) break;
      size_t end = std::min(n, begin + grain);
      for (size_t i = begin; i < end; ++i) f(i, worker);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(body, w);
  body(0);
  for (std::thread& t : pool) t.join();
}

}  // namespace gtn::curate
