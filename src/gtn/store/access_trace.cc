// AccessTrace: recording, merging, the trace file format and the workload summary
// (include/gtn/access_trace.h; the format is in docs/layout.md, "Trace file format").
#include "gtn/access_trace.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "gtn/dataset.h"
#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"

namespace gtn {
namespace {

constexpr char kMagic[8] = {'G', 'T', 'N', 'T', 'R', 'A', 'C', 'E'};
constexpr uint16_t kTraceVersion = 1;

// Everything recording keeps per thread, in one thread-local object (one TLS lookup per
// read call: in a shared library each thread_local access costs a call).
struct ThreadState {
  int depth = 0;          // open call scopes
  bool reading = false;   // a Recorder is active on this thread
  uint64_t call = 0;      // the open scope's call id (0 with depth > 0: recording suppressed)
  uint64_t time = 0;      // the scope's first read (every event of the scope has it)
  uint32_t thread = UINT32_MAX;
  // Inside a call scope, recorded events wait here and reach the trace when the scope
  // ends (one lock per batch, not per row).
  AccessTrace* trace = nullptr;
  std::vector<AccessEvent> events;
};
thread_local ThreadState tl;
std::atomic<uint32_t> g_next_thread{0};
std::atomic<uint64_t> g_next_call{1};

// The process id, cached; a forked child resets it (pthread_atfork).
std::atomic<uint32_t> g_pid{0};
void reset_pid() { g_pid.store(0, std::memory_order_relaxed); }
uint32_t this_process() {
  uint32_t p = g_pid.load(std::memory_order_relaxed);
  if (p == 0) {
    static const bool registered = (pthread_atfork(nullptr, nullptr, reset_pid), true);
    (void)registered;
    p = static_cast<uint32_t>(getpid());
    g_pid.store(p, std::memory_order_relaxed);
  }
  return p;
}

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Bounds-checked varint reader; a failed read leaves ok false.
struct VarintReader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  uint64_t get() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) {
        ok = false;
        return 0;
      }
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
};

bool event_order(const AccessEvent& a, const AccessEvent& b) {
  if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
  if (a.process != b.process) return a.process < b.process;
  if (a.thread != b.thread) return a.thread < b.thread;
  if (a.call != b.call) return a.call < b.call;
  if (a.tensor != b.tensor) return a.tensor < b.tensor;
  return a.begin < b.begin;
}

uint64_t percentile(const std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

// First element of a label sample as int64 (multi-label: its first label); -1 when empty.
int64_t first_label(const Array& a) {
  if (a.numel() < 1) return -1;
  switch (a.dtype()) {
    case DType::kInt64: return a.data_as<int64_t>()[0];
    case DType::kInt32: return a.data_as<int32_t>()[0];
    case DType::kUInt32: return a.data_as<uint32_t>()[0];
    case DType::kInt16: return a.data_as<int16_t>()[0];
    case DType::kUInt16: return a.data_as<uint16_t>()[0];
    case DType::kInt8: return a.data_as<int8_t>()[0];
    case DType::kUInt8: return a.data_as<uint8_t>()[0];
    default: return -1;
  }
}

std::vector<int64_t> ids_of(const Array& a) {
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(a.numel(), 0)));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = a.dtype() == DType::kInt32 ? a.data_as<int32_t>()[i] : a.dtype() == DType::kInt64 ? a.data_as<int64_t>()[i] : -1;
  }
  return out;
}

// Reads made while it lives are not recorded (summarize() reads labels and neighbours).
struct SuppressRecording {
  SuppressRecording() : saved(tl.call) { ++tl.depth; tl.call = 0; }
  ~SuppressRecording() {
    --tl.depth;
    tl.call = saved;
  }
  uint64_t saved;
};

}  // namespace

std::string trace_path_for_process(const std::string& path, uint64_t pid) {
  const std::string suffix = ".gtntrace";
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return path.substr(0, path.size() - suffix.size()) + "." + std::to_string(pid) + suffix;
  }
  return path + "." + std::to_string(pid) + suffix;
}

AccessTrace::AccessTrace() = default;
AccessTrace::~AccessTrace() = default;

uint32_t AccessTrace::tensor_id(std::string_view name) {
  std::lock_guard<std::mutex> g(names_mu_);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<uint32_t>(i);
  }
  names_.emplace_back(name);
  return static_cast<uint32_t>(names_.size() - 1);
}

uint64_t AccessTrace::next_call() { return g_next_call.fetch_add(1, std::memory_order_relaxed); }

uint32_t AccessTrace::this_thread_number() {
  ThreadState& t = tl;
  if (t.thread == UINT32_MAX) t.thread = g_next_thread.fetch_add(1, std::memory_order_relaxed);
  return t.thread;
}

uint64_t AccessTrace::now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Hands a scope's buffered events to its trace without copying them.
static void flush_scope(ThreadState& t) {
  size_t n = t.events.size();
  AccessTrace::Recorder::hand_over(t.trace, std::move(t.events));
  t.events = std::vector<AccessEvent>();
  t.events.reserve(n);  // the next batch is likely as large
}

AccessTrace::CallScope::CallScope() {
  ThreadState& t = tl;
  if (t.depth++ == 0) t.call = g_next_call.fetch_add(1, std::memory_order_relaxed);
}
AccessTrace::CallScope::CallScope(uint64_t call) {
  ThreadState& t = tl;
  if (t.depth++ == 0) t.call = call ? call : g_next_call.fetch_add(1, std::memory_order_relaxed);
}
AccessTrace::CallScope::~CallScope() {
  ThreadState& t = tl;
  if (--t.depth == 0) {
    t.call = 0;
    t.time = 0;
    if (t.trace && !t.events.empty()) flush_scope(t);
    t.events.clear();
    t.trace = nullptr;
  }
}
uint64_t AccessTrace::open_call() { return tl.call; }
bool AccessTrace::in_call_scope() { return tl.depth > 0; }

void AccessTrace::Recorder::start(AccessTrace* trace) {
  ThreadState& t = tl;
  if (t.reading) return;               // nested: the outer call records
  if (t.depth > 0 && t.call == 0) return;  // recording suppressed
  trace_ = trace;
  state_ = &t;
  t.reading = true;
  if (t.call) {
    first_.call = t.call;
    if (!t.time) t.time = now_ns();
    first_.time_ns = t.time;
  } else {
    first_.call = g_next_call.fetch_add(1, std::memory_order_relaxed);
    first_.time_ns = now_ns();
  }
  if (t.thread == UINT32_MAX) t.thread = g_next_thread.fetch_add(1, std::memory_order_relaxed);
  first_.thread = t.thread;
  first_.process = this_process();
}

void AccessTrace::Recorder::add(uint32_t tensor, uint64_t begin, uint64_t rows) {
  if (!trace_ || rows == 0) return;
  if (n_ == 0) {
    first_.tensor = tensor;
    first_.begin = begin;
    first_.rows = rows;
    n_ = 1;
    return;
  }
  // Extends the last run of the same tensor when the rows follow it.
  AccessEvent& last = more_.empty() ? first_ : more_.back();
  if (last.tensor == tensor && last.begin + last.rows == begin) {
    last.rows += rows;
    return;
  }
  AccessEvent e = first_;
  e.tensor = tensor;
  e.begin = begin;
  e.rows = rows;
  more_.push_back(e);
  ++n_;
}

void AccessTrace::Recorder::finish() {
  ThreadState& t = *static_cast<ThreadState*>(state_);
  t.reading = false;
  if (n_ == 0) return;
  if (t.call) {
    // Inside a call scope: buffered until the scope ends.
    if (t.trace != trace_) {
      if (t.trace && !t.events.empty()) flush_scope(t);
      t.events.clear();
      t.trace = trace_;
    }
    append_merged(t.events, &first_, 1);
    if (!more_.empty()) append_merged(t.events, more_.data(), more_.size());
    return;
  }
  if (more_.empty()) {
    trace_->record(&first_, 1);
    return;
  }
  more_.insert(more_.begin(), first_);
  trace_->record(more_.data(), more_.size());
}

void AccessTrace::Recorder::hand_over(AccessTrace* trace, std::vector<AccessEvent>&& events) {
  if (events.empty()) return;
  uint64_t time = events.front().time_ns;
  {
    Shard& s = trace->shards_[events.front().thread % kShards];
    std::lock_guard<std::mutex> g(s.mu);
    s.blocks.push_back(std::move(events));
  }
  if (time >= trace->next_autosave_ns_.load(std::memory_order_relaxed)) (void)trace->autosave_now();
}

void AccessTrace::record(const AccessEvent* events, size_t n) {
  if (n == 0) return;
  {
    Shard& s = shards_[events[0].thread % kShards];
    std::lock_guard<std::mutex> g(s.mu);
    append_merged(s.events, events, n);
  }
  if (events[0].time_ns >= next_autosave_ns_.load(std::memory_order_relaxed)) (void)autosave_now();
}

void AccessTrace::set_autosave(const std::string& path, uint64_t interval_ms) {
  std::lock_guard<std::mutex> g(autosave_mu_);
  autosave_path_ = path;
  autosave_interval_ns_ = interval_ms * 1000000ull;
  next_autosave_ns_.store(path.empty() ? UINT64_MAX : now_ns() + autosave_interval_ns_);
}

Status AccessTrace::autosave_now() {
  std::unique_lock<std::mutex> g(autosave_mu_, std::try_to_lock);
  if (!g.owns_lock() || autosave_path_.empty()) return Status::OK();  // another thread is saving
  next_autosave_ns_.store(now_ns() + autosave_interval_ns_);
  uint32_t pid = this_process();
  return save(trace_path_for_process(autosave_path_, pid), pid);
}

void AccessTrace::append_merged(std::vector<AccessEvent>& out, const AccessEvent* events, size_t n) {
  std::vector<AccessEvent>& evs = out;
  for (size_t i = 0; i < n; ++i) {
    const AccessEvent& e = events[i];
    if (!evs.empty()) {
      AccessEvent& last = evs.back();
      if (last.call == e.call && last.tensor == e.tensor && last.thread == e.thread && last.process == e.process &&
          last.begin + last.rows == e.begin) {
        last.rows += e.rows;
        continue;
      }
    }
    evs.push_back(e);
  }
}

std::vector<std::string> AccessTrace::tensor_names() const {
  std::lock_guard<std::mutex> g(names_mu_);
  return names_;
}

std::vector<AccessEvent> AccessTrace::events() const {
  std::vector<AccessEvent> out;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> g(const_cast<Shard&>(s).mu);
    out.insert(out.end(), s.events.begin(), s.events.end());
    for (const auto& b : s.blocks) out.insert(out.end(), b.begin(), b.end());
  }
  std::stable_sort(out.begin(), out.end(), event_order);
  return out;
}

size_t AccessTrace::size() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> g(const_cast<Shard&>(s).mu);
    n += s.events.size();
    for (const auto& b : s.blocks) n += b.size();
  }
  return n;
}

void AccessTrace::clear() {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> g(s.mu);
    s.events.clear();
    s.blocks.clear();
  }
}

void AccessTrace::merge(const AccessTrace& other) {
  if (&other == this) return;
  std::vector<std::string> names = other.tensor_names();
  std::vector<uint32_t> map(names.size());
  for (size_t i = 0; i < names.size(); ++i) map[i] = tensor_id(names[i]);
  std::vector<AccessEvent> evs = other.events();
  for (AccessEvent& e : evs) e.tensor = e.tensor < map.size() ? map[e.tensor] : e.tensor;
  Shard& s = shards_[0];
  std::lock_guard<std::mutex> g(s.mu);
  s.events.insert(s.events.end(), evs.begin(), evs.end());
}

// --- files ---

Status AccessTrace::save(const std::string& path, int64_t process) const {
  std::vector<std::string> names = tensor_names();
  std::vector<AccessEvent> evs = events();
  if (process >= 0) {
    evs.erase(std::remove_if(evs.begin(), evs.end(),
                             [&](const AccessEvent& e) { return e.process != static_cast<uint64_t>(process); }),
              evs.end());
  }
  std::string out(kMagic, sizeof(kMagic));
  store::put_le<uint16_t>(&out, kTraceVersion);
  store::put_le<uint16_t>(&out, 0);
  store::put_le<uint32_t>(&out, static_cast<uint32_t>(names.size()));
  for (const auto& n : names) {
    store::put_le<uint32_t>(&out, static_cast<uint32_t>(n.size()));
    out += n;
  }
  store::put_le<uint64_t>(&out, evs.size());
  uint64_t t0 = 0, call0 = 0, begin0 = 0;
  for (const AccessEvent& e : evs) {
    put_varint(&out, e.time_ns - t0);  // events are sorted by time
    put_varint(&out, zigzag(static_cast<int64_t>(e.call - call0)));
    put_varint(&out, zigzag(static_cast<int64_t>(e.begin - begin0)));
    put_varint(&out, e.rows);
    put_varint(&out, e.tensor);
    put_varint(&out, e.thread);
    put_varint(&out, e.process);
    t0 = e.time_ns;
    call0 = e.call;
    begin0 = e.begin;
  }
  store::put_le<uint64_t>(&out, store::checksum64(out.data(), out.size()));
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::IOError("cannot write trace file " + path + ": " + std::strerror(errno));
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return Status::IOError("cannot write trace file " + path + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IOError("cannot write trace file " + path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

Result<std::shared_ptr<AccessTrace>> AccessTrace::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("trace file " + path + " does not exist or cannot be read");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) { return Status::Corruption("trace file " + path + ": " + why); };
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::InvalidArgument(path + " is not a GTN access trace (it does not start with \"GTNTRACE\"; "
                                   "traces are written by ds.trace(), gtn trace or $GTN_TRACE)");
  }
  if (bytes.size() < sizeof(kMagic) + 8 + 8 + 8) return bad("truncated (" + std::to_string(bytes.size()) + " bytes)");
  uint64_t stored = store::load_le<uint64_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 8);
  uint64_t computed = store::checksum64(bytes.data(), bytes.size() - 8);
  store::ByteReader r(std::string_view(bytes).substr(sizeof(kMagic), bytes.size() - 8 - sizeof(kMagic)));
  uint16_t version = r.get<uint16_t>();
  if (version != kTraceVersion) {
    return Status::Unsupported("trace file " + path + " has format version " + std::to_string(version) +
                               "; this build reads version " + std::to_string(kTraceVersion));
  }
  if (stored != computed) {
    return bad("checksum mismatch: stored " + store::checksum_to_string(stored) + ", computed " +
               store::checksum_to_string(computed) + " (the file is damaged or truncated)");
  }
  r.get<uint16_t>();
  uint32_t nnames = r.get<uint32_t>();
  if (!r.ok() || nnames > r.remaining() / 4) return bad("bad tensor count");
  auto trace = std::make_shared<AccessTrace>();
  for (uint32_t i = 0; i < nnames; ++i) {
    uint32_t len = r.get<uint32_t>();
    std::string_view name = r.bytes(len);
    if (!r.ok()) return bad("truncated tensor name " + std::to_string(i));
    trace->names_.emplace_back(name);
  }
  uint64_t n = r.get<uint64_t>();
  if (!r.ok() || n > r.remaining()) return bad("event count " + std::to_string(n) + " exceeds the file");
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + sizeof(kMagic) + r.position();
  VarintReader v{p, reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 8};
  std::vector<AccessEvent> evs(static_cast<size_t>(n));
  uint64_t t0 = 0, call0 = 0, begin0 = 0;
  for (auto& e : evs) {
    e.time_ns = t0 + v.get();
    e.call = call0 + static_cast<uint64_t>(unzigzag(v.get()));
    e.begin = begin0 + static_cast<uint64_t>(unzigzag(v.get()));
    e.rows = v.get();
    uint64_t tensor = v.get(), thread = v.get(), process = v.get();
    if (!v.ok) return bad("truncated event list");
    if (tensor >= nnames) return bad("event names tensor " + std::to_string(tensor) + " of " + std::to_string(nnames));
    if (thread > UINT32_MAX || process > UINT32_MAX) return bad("thread or process id out of range");
    e.tensor = static_cast<uint32_t>(tensor);
    e.thread = static_cast<uint32_t>(thread);
    e.process = static_cast<uint32_t>(process);
    t0 = e.time_ns;
    call0 = e.call;
    begin0 = e.begin;
  }
  if (v.p != v.end) return bad(std::to_string(v.end - v.p) + " bytes after the last event");
  trace->shards_[0].events = std::move(evs);
  return trace;
}

Result<std::shared_ptr<AccessTrace>> AccessTrace::load_merged(const std::string& path) {
  struct stat st;
  std::vector<std::string> files;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    files.push_back(path);
  } else {
    std::string dir, prefix;
    bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (is_dir) {
      dir = path;
    } else {
      size_t slash = path.rfind('/');
      dir = slash == std::string::npos ? "." : path.substr(0, slash);
      prefix = slash == std::string::npos ? path : path.substr(slash + 1);
      const std::string suffix = ".gtntrace";
      if (prefix.size() > suffix.size() && prefix.compare(prefix.size() - suffix.size(), suffix.size(), suffix) == 0) {
        prefix.resize(prefix.size() - suffix.size());
      }
    }
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Status::NotFound("no trace at " + path + " (neither a file, a directory nor a prefix of files)");
    while (dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name == "." || name == "..") continue;
      bool ends = name.size() >= 9 && name.compare(name.size() - 9, 9, ".gtntrace") == 0;
      if (!ends) continue;
      if (!is_dir && name.compare(0, prefix.size(), prefix) != 0) continue;
      files.push_back(dir + "/" + name);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status::NotFound("no trace files (*.gtntrace) at " + path);
  }
  auto out = std::make_shared<AccessTrace>();
  for (const auto& f : files) {
    GTN_ASSIGN_OR_RETURN(auto t, load(f));
    out->merge(*t);
  }
  return out;
}

// --- summary ---

TraceSummary AccessTrace::summarize(const Dataset* dataset, size_t max_calls) const {
  TraceSummary s;
  std::vector<std::string> names = tensor_names();
  std::vector<AccessEvent> evs = events();
  s.events = evs.size();
  if (evs.empty()) return s;
  s.duration_s = static_cast<double>(evs.back().time_ns - evs.front().time_ns) * 1e-9;

  // Calls, keyed by (process, call), in order of first event.
  struct Call {
    uint64_t process = 0, thread = 0, time = 0;
    std::vector<size_t> events;
  };
  std::vector<Call> calls;
  std::unordered_map<uint64_t, size_t> call_at;  // (process << 40) ^ call -> index
  std::set<std::pair<uint32_t, uint32_t>> readers;
  std::set<uint32_t> processes;
  std::map<uint64_t, std::set<std::pair<uint32_t, uint32_t>>> windows;
  for (size_t i = 0; i < evs.size(); ++i) {
    const AccessEvent& e = evs[i];
    uint64_t key = (static_cast<uint64_t>(e.process) << 40) ^ e.call;
    auto [it, fresh] = call_at.emplace(key, calls.size());
    if (fresh) calls.push_back(Call{e.process, e.thread, e.time_ns, {}});
    calls[it->second].events.push_back(i);
    readers.emplace(e.process, e.thread);
    processes.insert(e.process);
    windows[e.time_ns / 10000000ull].emplace(e.process, e.thread);
    s.rows_read += e.rows;
    s.tensor_rows[names[e.tensor]] += e.rows;
  }
  s.calls = calls.size();
  s.readers = readers.size();
  s.processes = processes.size();
  for (const auto& w : windows) s.max_concurrent_readers = std::max<uint64_t>(s.max_concurrent_readers, w.second.size());

  // Distinct rows per tensor: the union of the event intervals.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> spans(names.size());
  for (const auto& e : evs) spans[e.tensor].emplace_back(e.begin, e.begin + e.rows);
  for (auto& v : spans) {
    std::sort(v.begin(), v.end());
    uint64_t covered_end = 0;
    bool any = false;
    for (auto [b, en] : v) {
      if (!any || b >= covered_end) {
        s.distinct_rows += en - b;
        covered_end = en;
      } else if (en > covered_end) {
        s.distinct_rows += en - covered_end;
        covered_end = en;
      }
      any = true;
    }
  }
  s.reread_fraction = s.rows_read ? 1.0 - static_cast<double>(s.distinct_rows) / static_cast<double>(s.rows_read) : 0;

  // Per call: tensors read together, batch size, contiguity, sequential follow-on.
  std::map<std::vector<std::string>, uint64_t> sets;
  std::vector<uint64_t> batch;
  batch.reserve(calls.size());
  uint64_t contiguous = 0, pairs = 0, follows = 0, follow_checks = 0;
  std::map<std::tuple<uint64_t, uint64_t, uint32_t>, uint64_t> last_end;  // (process, thread, tensor)
  for (const Call& c : calls) {
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> per;  // tensor -> (rows, first row)
    std::map<uint32_t, uint64_t> prev_end;
    for (size_t i : c.events) {
      const AccessEvent& e = evs[i];
      auto [it, fresh] = per.emplace(e.tensor, std::make_pair(uint64_t{0}, e.begin));
      it->second.first += e.rows;
      if (e.rows > 1) contiguous += e.rows - 1;
      if (!fresh) {
        ++pairs;
        if (prev_end[e.tensor] == e.begin) ++contiguous;
      }
      if (e.rows > 1) pairs += e.rows - 1;
      prev_end[e.tensor] = e.begin + e.rows;
    }
    std::vector<std::string> set;
    uint64_t rows = 0;
    for (const auto& [t, v] : per) {
      set.push_back(names[t]);
      rows = std::max(rows, v.first);
      s.tensor_calls[names[t]] += 1;
      auto key = std::make_tuple(c.process, c.thread, t);
      auto le = last_end.find(key);
      if (le != last_end.end()) {
        ++follow_checks;
        if (le->second == v.second) ++follows;
      }
      last_end[key] = prev_end[t];
    }
    std::sort(set.begin(), set.end());
    sets[set] += 1;
    batch.push_back(rows);
    s.batch_sizes[rows] += 1;
  }
  for (auto& [set, n] : sets) s.read_together.emplace_back(set, n);
  std::stable_sort(s.read_together.begin(), s.read_together.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  s.contiguous_fraction = pairs ? static_cast<double>(contiguous) / static_cast<double>(pairs) : 0;
  s.sequential_fraction = follow_checks ? static_cast<double>(follows) / static_cast<double>(follow_checks) : 0;
  double sum = 0;
  for (uint64_t b : batch) sum += static_cast<double>(b);
  s.batch_mean = sum / static_cast<double>(batch.size());
  std::sort(batch.begin(), batch.end());
  s.batch_p50 = percentile(batch, 0.5);
  s.batch_p90 = percentile(batch, 0.9);
  s.batch_max = batch.back();

  if (!dataset || dataset->size() == 0) return s;
  // Locality signals: the rows of each examined call (the union over its tensors).
  SuppressRecording quiet;
  const uint64_t n_rows = dataset->size();
  std::vector<std::vector<uint64_t>> call_rows;
  for (size_t k = 0; k < calls.size() && call_rows.size() < max_calls; ++k) {
    std::vector<uint64_t> rows;
    for (size_t i : calls[k].events) {
      const AccessEvent& e = evs[i];
      for (uint64_t r = e.begin; r < e.begin + e.rows && rows.size() < 4096; ++r) {
        if (r < n_rows) rows.push_back(r);
      }
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    if (rows.size() >= 2) call_rows.push_back(std::move(rows));
  }
  if (call_rows.empty()) return s;
  std::mt19937_64 rng(7);
  for (const std::string& name : dataset->tensor_names()) {
    auto spec = dataset->tensor_spec(name);
    auto t = dataset->tensor_index(name);
    if (!spec.ok() || !t.ok()) continue;
    if (spec->htype == "class_label") {
      std::unordered_map<uint64_t, int64_t> label;
      std::map<int64_t, uint64_t> freq;
      double share = 0;
      std::map<size_t, uint64_t> sizes;
      bool failed = false;
      for (const auto& rows : call_rows) {
        std::map<int64_t, uint64_t> counts;
        for (uint64_t r : rows) {
          auto it = label.find(r);
          if (it == label.end()) {
            auto a = dataset->read(*t, r);
            if (!a.ok()) { failed = true; break; }
            it = label.emplace(r, first_label(*a)).first;
            freq[it->second] += 1;
          }
          counts[it->second] += 1;
        }
        if (failed) break;
        uint64_t top = 0;
        for (auto& [l, n] : counts) top = std::max(top, n);
        share += static_cast<double>(top) / static_cast<double>(rows.size());
        sizes[rows.size()] += 1;
      }
      if (failed) continue;
      // Expected for random batches of the same sizes from the observed label frequencies.
      std::vector<int64_t> pool;
      for (auto& [l, n] : freq) pool.insert(pool.end(), n, l);
      double expected = 0;
      for (auto& [b, ncalls] : sizes) {
        double e = 0;
        const int draws = 64;
        for (int d = 0; d < draws; ++d) {
          std::map<int64_t, uint64_t> counts;
          uint64_t top = 0;
          for (size_t i = 0; i < b; ++i) top = std::max(top, ++counts[pool[rng() % pool.size()]]);
          e += static_cast<double>(top) / static_cast<double>(b);
        }
        expected += e / draws * static_cast<double>(ncalls);
      }
      s.class_locality[name] = {share / static_cast<double>(call_rows.size()),
                                expected / static_cast<double>(call_rows.size())};
    } else if (spec->htype == "neighbors") {
      double share = 0, expected = 0;
      bool failed = false;
      for (const auto& rows : call_rows) {
        std::unordered_set<int64_t> in(rows.begin(), rows.end());
        uint64_t with = 0;
        double exp_rows = 0;
        double q = static_cast<double>(rows.size() - 1) / static_cast<double>(std::max<uint64_t>(n_rows - 1, 1));
        for (uint64_t r : rows) {
          auto a = dataset->read(*t, r);
          if (!a.ok()) { failed = true; break; }
          std::vector<int64_t> ids = ids_of(*a);
          bool hit = false;
          for (int64_t id : ids) {
            if (id != static_cast<int64_t>(r) && in.count(id)) { hit = true; break; }
          }
          with += hit;
          exp_rows += 1.0 - std::pow(1.0 - q, static_cast<double>(ids.size()));
        }
        if (failed) break;
        share += static_cast<double>(with) / static_cast<double>(rows.size());
        expected += exp_rows / static_cast<double>(rows.size());
      }
      if (failed) continue;
      s.graph_locality[name] = {share / static_cast<double>(call_rows.size()),
                                expected / static_cast<double>(call_rows.size())};
    }
  }
  return s;
}

std::string TraceSummary::to_string() const {
  std::ostringstream o;
  char buf[256];
  o << "calls " << calls << ", events " << events << ", rows read " << rows_read << " (" << distinct_rows
    << " distinct";
  std::snprintf(buf, sizeof(buf), ", %.1f %% re-read)", reread_fraction * 100);
  o << buf << "\n";
  std::snprintf(buf, sizeof(buf), "batch rows: mean %.1f, p50 %llu, p90 %llu, max %llu\n", batch_mean,
                static_cast<unsigned long long>(batch_p50), static_cast<unsigned long long>(batch_p90),
                static_cast<unsigned long long>(batch_max));
  o << buf;
  std::snprintf(buf, sizeof(buf), "access: %.1f %% of calls continue the previous one (sequential), %.1f %% of rows "
                "in a call follow the previous row\n", sequential_fraction * 100, contiguous_fraction * 100);
  o << buf;
  std::snprintf(buf, sizeof(buf), "readers: %llu (processes %llu), at most %llu at once; %.3f s traced\n",
                static_cast<unsigned long long>(readers), static_cast<unsigned long long>(processes),
                static_cast<unsigned long long>(max_concurrent_readers), duration_s);
  o << buf;
  o << "tensors read together:\n";
  for (size_t i = 0; i < read_together.size() && i < 5; ++i) {
    o << "  ";
    for (size_t j = 0; j < read_together[i].first.size(); ++j) o << (j ? ", " : "") << read_together[i].first[j];
    o << ": " << read_together[i].second << " calls\n";
  }
  for (const auto& [t, v] : class_locality) {
    std::snprintf(buf, sizeof(buf), "class locality of %s: %.2f of a batch share its top class (random: %.2f)\n",
                  t.c_str(), v.first, v.second);
    o << buf;
  }
  for (const auto& [t, v] : graph_locality) {
    std::snprintf(buf, sizeof(buf), "graph locality of %s: %.2f of a batch has a neighbour in it (random: %.2f)\n",
                  t.c_str(), v.first, v.second);
    o << buf;
  }
  return o.str();
}

}  // namespace gtn
