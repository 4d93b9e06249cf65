// Opening, creating and closing a dataset (see dataset_impl.h for the other concerns).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "gtn/store/dataset_impl.h"
#include "gtn/store/expired_history.h"

namespace gtn {
namespace store {

DatasetImpl::DatasetImpl(std::string path, std::shared_ptr<Storage> storage, const OpenOptions& options)
    : path_(std::move(path)), storage_(std::move(storage)), options_(options), cache_(options.chunk_cache_bytes),
      writer_(storage_.get(), &rng_, options.durability == Durability::kEveryChunk) {
  std::random_device rd;
  uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                  static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                  (static_cast<uint64_t>(::getpid()) << 16);
  rng_.seed(seed);
}

DatasetImpl::~DatasetImpl() {
  if (ready_ && !closed_ && !options_.read_only && !detached_) (void)flush();
  if (access_trace_ && !closed_) (void)access_trace_->autosave_now();
}

Status DatasetImpl::init(bool create) {
  GTN_RETURN_IF_ERROR(open_or_create(create));
  ready_ = true;
  return Status::OK();
}

Status DatasetImpl::close() {
  if (closed_) return Status::OK();
  Status st = options_.read_only || !ready_ || detached_ ? Status::OK() : flush();
  if (access_trace_) {
    Status saved = access_trace_->autosave_now();  // $GTN_TRACE's file (no-op otherwise)
    if (st.ok()) st = saved;
  }
  closed_ = true;
  lock_.reset();
  reader_lock_.reset();
  return st;
}

Status DatasetImpl::open_or_create(bool create) {
  if (!options_.read_only) {
    GTN_ASSIGN_OR_RETURN(lock_, storage_->lock_for_writing());
  }
  GTN_ASSIGN_OR_RETURN(bool has_root, storage_->exists(kRootKey));
  if (!has_root) {
    if (!create) return Status::NotFound(path_ + " is not a GTN dataset (no gtn.json)");
    if (!options_.version.empty()) {
      return Status::NotFound(path_ + " is not a GTN dataset (no gtn.json), so it has no version '" +
                              options_.version + "'");
    }
    return create_new();
  }
  GTN_ASSIGN_OR_RETURN(auto root_bytes, storage_->read(kRootKey));
  GTN_RETURN_IF_ERROR(decode_root(root_bytes->view(), &root_).WithContext(path_ + "/gtn.json"));
  GTN_RETURN_IF_ERROR(options_.read_only ? check_readable(root_) : check_writable(root_));
  {
    auto expired = load_expired(*storage_);
    if (!expired.ok()) return expired.status().WithContext(path_);
    expired_ = std::move(*expired);
  }
  // A reader holds the registry lock from reading the ref until it is registered, so a
  // gc never misses the version it is about to read.
  std::shared_ptr<void> registry;
  if (options_.read_only) {
    GTN_ASSIGN_OR_RETURN(registry, storage_->lock_registry(/*exclusive=*/false));
  }
  std::string target = options_.version.empty() ? root_.head : options_.version;
  GTN_ASSIGN_OR_RETURN(bool is_branch, storage_->exists(ref_key(target)));
  uint64_t version = 0;
  if (is_branch || options_.version.empty()) {
    std::string rk = ref_key(target);
    auto ref_bytes = storage_->read(rk);
    if (!ref_bytes.ok()) return Status::Corruption(path_ + "/" + rk + ": " + ref_bytes.status().message());
    GTN_RETURN_IF_ERROR(decode_ref((*ref_bytes)->view(), &version).WithContext(path_ + "/" + rk));
    branch_ = target;
  } else {
    GTN_ASSIGN_OR_RETURN(version, resolve(target));
    if (!options_.read_only) {
      return Status::InvalidArgument("'" + target + "' of " + path_ +
                                     " is a tag or commit, not a branch: open it read_only, or create a branch at it");
    }
    detached_ = true;
  }
  GTN_RETURN_IF_ERROR(load_version(version));
  if (options_.read_only) {
    GTN_RETURN_IF_ERROR(register_read());
    return Status::OK();
  }
  GTN_RETURN_IF_ERROR(upgrade_root());
  {
    // The writer creates the reader registry, so later readers register.
    GTN_ASSIGN_OR_RETURN(auto registry, storage_->lock_registry(/*exclusive=*/true));
  }
  // Samples past the last complete row (a writer stopped between two tensors' chunks)
  // are cut from the tables.
  for (auto& ts : tensors_) GTN_RETURN_IF_ERROR(truncate(*ts, length_));
  dirty_ = false;
  return Status::OK();
}

// A writer of this build writes chunk format 2 and manifest format 2: the root must tell
// readers so before any such file exists (durably, since they may outlive this process).
Status DatasetImpl::upgrade_root() {
  bool added = add_reader_feature(&root_, kFeatureBlockChecksums);
  added = add_reader_feature(&root_, kFeatureVersions) || added;
  added = add_reader_feature(&root_, kFeatureChunkStats) || added;
  if (!added) return Status::OK();
  return storage_->write_atomic(kRootKey, encode_root(root_));
}

Status DatasetImpl::create_new() {
  add_reader_feature(&root_, kFeatureBlockChecksums);
  add_reader_feature(&root_, kFeatureVersions);
  add_reader_feature(&root_, kFeatureChunkStats);
  branch_ = root_.head;
  do {
    version_id_ = rng_();
  } while (version_id_ == 0);
  {
    GTN_ASSIGN_OR_RETURN(auto registry, storage_->lock_registry(/*exclusive=*/true));
  }
  GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true));
  GTN_RETURN_IF_ERROR(storage_->write_atomic(ref_key(root_.head), encode_ref(version_id_)));
  return storage_->write_atomic(kRootKey, encode_root(root_));
}

namespace {

namespace fs = std::filesystem;

// What a dataset folder may hold before gtn.json exists (a creation that stopped midway).
bool is_dataset_entry(const std::string& name) {
  if (name.rfind("gtn.json.tmp-", 0) == 0) return true;  // a creation killed while writing gtn.json
  return name == "gtn.lock" || name == "gtn.readers" || name == "readers" || name == "refs" || name == "versions" ||
         name == "chunks";
}

// InvalidArgument when `path` is an existing folder holding files that are not a dataset:
// creating a dataset there would mix it with someone's files.
Status check_not_foreign_folder(const std::string& path) {
  std::error_code ec;
  if (path.find('\0') != std::string::npos) {
    return Status::InvalidArgument("dataset path contains a NUL byte");
  }
  if (!fs::exists(path, ec)) return Status::OK();
  if (!fs::is_directory(path, ec)) {
    return Status::InvalidArgument(path + " exists and is not a folder; a dataset is a folder (pick a new path)");
  }
  if (fs::exists(fs::path(path) / "gtn.json", ec)) return Status::OK();
  std::vector<std::string> foreign;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    std::string name = e.path().filename().string();
    if (!is_dataset_entry(name)) foreign.push_back(name);
  }
  if (ec) return Status::IOError("cannot list " + path + ": " + ec.message());
  if (foreign.empty()) return Status::OK();
  std::string example = foreign.front();
  return Status::InvalidArgument(path + " is a folder that is not a GTN dataset (it holds " +
                                 std::to_string(foreign.size()) + " other entr" + (foreign.size() == 1 ? "y" : "ies") +
                                 ", e.g. '" + example + "'); a dataset is created only in a new or empty folder");
}

}  // namespace
}  // namespace store

Result<std::unique_ptr<Dataset>> Dataset::Open(const std::string& path, const OpenOptions& options) {
  std::shared_ptr<Storage> storage = options.storage;
  bool create = !options.read_only && options.create_if_missing;
  if (!storage) {
    if (path.empty()) return Status::InvalidArgument("dataset path is empty");
    if (create) GTN_RETURN_IF_ERROR(store::check_not_foreign_folder(path));
    if (path.find('\0') != std::string::npos) return Status::InvalidArgument("dataset path contains a NUL byte");
    auto local = open_local_storage(path, create);
    if (!local.ok()) {
      if (local.status().code() == StatusCode::kNotFound) {
        return Status::NotFound(path + " is not a GTN dataset (no gtn.json)");
      }
      return local.status();
    }
    storage = std::move(*local);
  }
  auto ds = std::make_unique<store::DatasetImpl>(path, std::move(storage), options);
  GTN_RETURN_IF_ERROR(ds->init(create));
  // $GTN_TRACE: record this handle's reads to a per-process trace file (docs/layout.md).
  // One trace per process, shared by every dataset it opens.
  if (const char* trace_path = std::getenv("GTN_TRACE"); trace_path && *trace_path) {
    static std::mutex mu;
    static std::map<std::string, std::shared_ptr<AccessTrace>> traces;
    std::lock_guard<std::mutex> g(mu);
    auto& trace = traces[trace_path];
    if (!trace) {
      trace = std::make_shared<AccessTrace>();
      trace->set_autosave(trace_path);
    }
    ds->set_access_trace(trace);
  }
  return std::unique_ptr<Dataset>(std::move(ds));
}

}  // namespace gtn
