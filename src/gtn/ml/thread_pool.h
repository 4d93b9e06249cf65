// A fixed pool of worker threads for the CPU executor's row tiles.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gtn::ml {

class ThreadPool {
 public:
  // The process-wide pool (hardware_concurrency - 1 workers; the caller is the last one).
  static ThreadPool& Global();
  explicit ThreadPool(int n_workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Calls fn(i) for i in [0, n) on up to `n_threads` threads (the caller included) and
  // returns when all calls have returned. Calls from several threads run one at a time.
  void ParallelFor(int64_t n, int n_threads, const std::function<void(int64_t)>& fn);
  int max_threads() const { return static_cast<int>(workers_.size()) + 1; }

 private:
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one ParallelFor at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t next_ = 0;
  int active_workers_ = 0;   // workers taking part in the current job
  int running_ = 0;          // workers not yet finished with the current job
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace gtn::ml
