#include "gtn/ml/thread_pool.h"

#include <algorithm>

namespace gtn::ml {

ThreadPool& ThreadPool::Global() {
  static ThreadPool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())) - 1);
  return pool;
}

ThreadPool::ThreadPool(int n_workers) {
  for (int i = 0; i < n_workers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> l(mu_);
    wake_.wait(l, [&] { return stop_ || (generation_ != seen && index < active_workers_); });
    if (stop_) return;
    seen = generation_;
    const auto* fn = fn_;
    for (;;) {
      if (next_ >= n_) break;
      int64_t i = next_++;
      l.unlock();
      (*fn)(i);
      l.lock();
    }
    if (--running_ == 0) done_.notify_all();
  }
}

void ThreadPool::ParallelFor(int64_t n, int n_threads, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  int helpers = std::min<int64_t>({static_cast<int64_t>(workers_.size()), static_cast<int64_t>(n_threads) - 1, n - 1});
  if (helpers <= 0) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> run(run_mu_);
  std::unique_lock<std::mutex> l(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  active_workers_ = helpers;
  running_ = helpers;
  ++generation_;
  wake_.notify_all();
  for (;;) {
    if (next_ >= n_) break;
    int64_t i = next_++;
    l.unlock();
    fn(i);
    l.lock();
  }
  done_.wait(l, [&] { return running_ == 0; });
  fn_ = nullptr;
}

}  // namespace gtn::ml
