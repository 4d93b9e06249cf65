// Access traces: a record of the reads made through Dataset handles, for the workload-driven
// layout planner (gtn/layout.h) and for users who want to know how their data are read.
// docs/layout.md ("Access traces") describes the file format.
//
//   auto trace = std::make_shared<gtn::AccessTrace>();
//   ds->set_access_trace(trace);   // every read of ds is recorded from here on
//   ... train ...
//   ds->set_access_trace(nullptr);
//   trace->save("job.gtntrace");
//   gtn::TraceSummary s = trace->summarize(ds.get());
//
// One event is one run of consecutive rows of one tensor read by one public read call
// (read, read_into, read_rows_into, read_rows_view, read_bytes_rows, read_sample,
// read_batch, read_range). Every event of a call shares the call's id, so a batch read
// (read_batch, or a loader that opens an AccessTrace::CallScope around its per-row reads)
// is known as one batch. Events carry the thread and process that read and a monotonic
// time (CLOCK_MONOTONIC, comparable across the processes of one machine).
//
// Thread-safety: record() may be called from any number of threads at once; events go to
// one of several shards picked by thread, each under its own mutex, so readers on
// different threads do not contend. save(), events() and summarize() may run while others
// record (they see the events recorded before them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"

namespace gtn {

class Dataset;

struct AccessEvent {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC when the call began
  uint64_t call = 0;     // the call's id: unique per (process, call)
  uint64_t begin = 0;    // rows [begin, begin + rows)
  uint64_t rows = 0;
  uint32_t tensor = 0;   // index into AccessTrace::tensor_names()
  uint32_t thread = 0;   // a small number per thread of the recording process (0, 1, ...)
  uint32_t process = 0;  // the recording process's id
};

// What a trace says about a workload (AccessTrace::summarize).
struct TraceSummary {
  uint64_t events = 0;
  uint64_t calls = 0;
  uint64_t rows_read = 0;       // rows summed over every tensor's events
  uint64_t distinct_rows = 0;   // distinct (tensor, row) pairs read
  double reread_fraction = 0;   // 1 - distinct_rows / rows_read
  // Per tensor: rows read and calls that read it.
  std::map<std::string, uint64_t> tensor_rows;
  std::map<std::string, uint64_t> tensor_calls;
  // Sets of tensors read by the same calls, most frequent first, with how many calls read
  // exactly that set.
  std::vector<std::pair<std::vector<std::string>, uint64_t>> read_together;
  // Fraction of calls (after a reader's first) whose first row follows the previous call's
  // last row of the same tensor on the same reader: 1 = a sequential scan, ~0 = random.
  double sequential_fraction = 0;
  // Fraction of rows within a call that directly follow the previous row of that call.
  double contiguous_fraction = 0;
  // Rows per call (the largest count over the tensors a call reads).
  double batch_mean = 0;
  uint64_t batch_p50 = 0, batch_p90 = 0, batch_max = 0;
  std::map<uint64_t, uint64_t> batch_sizes;  // rows per call -> calls
  // Readers: distinct (process, thread) pairs, and the most active at once (readers whose
  // first-to-last event intervals overlap, counted in 10 ms windows).
  uint64_t readers = 0;
  uint64_t processes = 0;
  uint64_t max_concurrent_readers = 0;
  double duration_s = 0;
  // Locality signals, when summarize() is given the dataset (else negative):
  // class_label tensor -> mean share of a call's rows that hold the call's most common
  // class, and the same share expected of random batches of that size (from the label
  // frequencies). Far above expected: batches are drawn per class.
  std::map<std::string, std::pair<double, double>> class_locality;
  // neighbors tensor -> share of a call's rows that have a neighbour in the same call,
  // and the share expected of random batches of that size. Far above: the workload reads
  // graph neighbourhoods.
  std::map<std::string, std::pair<double, double>> graph_locality;

  // A human-readable multi-line report.
  std::string to_string() const;
};

class AccessTrace {
 public:
  AccessTrace();
  ~AccessTrace();
  AccessTrace(const AccessTrace&) = delete;
  AccessTrace& operator=(const AccessTrace&) = delete;

  // --- recording (called by the store's read paths) ---
  // The id of tensor `name` in this trace (added on first use).
  uint32_t tensor_id(std::string_view name);
  // A new call id (unique in this process).
  uint64_t next_call();
  // Appends events; adjacent runs of the same call, tensor and thread are merged.
  void record(const AccessEvent* events, size_t n);

  // A call scope: reads made on this thread while it lives share one call id (a loader
  // wraps a batch of per-row reads in one). Nested scopes and read calls inside a scope
  // join the outermost. Costs nothing beyond a thread-local flag when no trace is attached.
  // The events of a scope reach the trace when the outermost scope ends (one lock per
  // batch), all with the time of the scope's first read; a trace must outlive the scopes
  // that read through it.
  class CallScope {
   public:
    CallScope();
    // Joins call `call` (from open_call() on another thread: a batch read by several
    // threads stays one call); 0 opens a new one.
    explicit CallScope(uint64_t call);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
  };
  // The call id reads on this thread should use, or 0 when none is open (see CallScope).
  static uint64_t open_call();
  static bool in_call_scope();
  static uint32_t this_thread_number();
  static uint64_t now_ns();

  // Records the rows one public read call touches (used by the store's read paths). With
  // no trace it costs one null check; nested read calls (read_batch -> read) record
  // nothing themselves: the outermost call records every row.
  class Recorder {
   public:
    explicit Recorder(AccessTrace* trace) {
      if (trace) start(trace);
    }
    ~Recorder() {
      if (trace_) finish();
    }
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;
    bool active() const { return trace_ != nullptr; }
    void add(uint32_t tensor, uint64_t begin, uint64_t rows);
    // Moves a finished call scope's events into `trace` (used when a scope ends).
    static void hand_over(AccessTrace* trace, std::vector<AccessEvent>&& events);

   private:
    void start(AccessTrace* trace);
    void finish();
    AccessTrace* trace_ = nullptr;
    void* state_ = nullptr;  // this thread's recording state
    AccessEvent first_;
    size_t n_ = 0;
    std::vector<AccessEvent> more_;
  };

  // --- contents ---
  std::vector<std::string> tensor_names() const;
  // Every event, ordered by (time, process, thread).
  std::vector<AccessEvent> events() const;
  size_t size() const;
  void clear();
  // Adds another trace's events (tensor ids mapped by name).
  void merge(const AccessTrace& other);

  // --- files (docs/layout.md, "Trace file format") ---
  // Writes the trace (atomically: a temporary file renamed). process >= 0: only the events
  // that process recorded (a forked worker inherits its parent's events; it saves its own).
  Status save(const std::string& path, int64_t process = -1) const;
  // Saves this process's events to trace_path_for_process(path, pid) every `interval_ms`
  // while recording, and at autosave_now() (the store calls it when the dataset closes).
  // $GTN_TRACE uses it: a worker process that exits without running destructors (PyTorch
  // DataLoader workers end with os._exit) loses at most the last interval.
  void set_autosave(const std::string& path, uint64_t interval_ms = 1000);
  Status autosave_now();
  static Result<std::shared_ptr<AccessTrace>> load(const std::string& path);
  // Loads and merges every trace file at `path`: a file, a directory (every *.gtntrace
  // file in it), or a prefix (every file named prefix*, e.g. the per-process files
  // $GTN_TRACE writes: prefix.<pid>.gtntrace).
  static Result<std::shared_ptr<AccessTrace>> load_merged(const std::string& path);

  // What the trace says about the workload. `dataset` (optional) adds the class and graph
  // locality signals: its class_label and neighbors tensors are read for the rows traced
  // (at most `max_calls` calls are examined for them).
  TraceSummary summarize(const Dataset* dataset = nullptr, size_t max_calls = 4096) const;

 private:
  static void append_merged(std::vector<AccessEvent>& out, const AccessEvent* events, size_t n);
  static constexpr size_t kShards = 32;
  struct Shard {
    std::mutex mu;
    std::vector<AccessEvent> events;
    std::vector<std::vector<AccessEvent>> blocks;  // call scopes' events, moved in whole
  };
  mutable std::mutex names_mu_;
  std::vector<std::string> names_;
  std::array<Shard, kShards> shards_;
  std::mutex autosave_mu_;
  std::string autosave_path_;
  uint64_t autosave_interval_ns_ = 0;
  std::atomic<uint64_t> next_autosave_ns_{UINT64_MAX};
};

// The per-process file name $GTN_TRACE=path records to: path itself with ".<pid>" inserted
// before a ".gtntrace" suffix (or appended, followed by ".gtntrace", when there is none).
std::string trace_path_for_process(const std::string& path, uint64_t pid);

}  // namespace gtn
