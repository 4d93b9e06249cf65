// Version control over states: loading a version, commit, branches, tags, checkout, reset
// and log (docs/versions.md; see dataset_impl.h for the other concerns). A branch ref names
// either a commit (a frozen manifest) or an uncommitted state on top of one, which flush()
// rewrites in place and commit() freezes.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "gtn/store/coding.h"
#include "gtn/store/dataset_impl.h"

namespace gtn::store {

Status DatasetImpl::load_manifest(uint64_t version, Manifest* m, std::shared_ptr<const Bytes>* keep) const {
  std::string mk = manifest_key(version);
  auto bytes = storage_->read(mk);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) return Status::Corruption(path_ + "/" + mk + ": missing");
    return Status::Corruption(path_ + "/" + mk + ": " + bytes.status().message());
  }
  GTN_RETURN_IF_ERROR(decode_manifest((*bytes)->view(), m).WithContext(path_ + "/" + mk));
  if (m->version_id != version) {
    return Status::Corruption(path_ + "/" + mk + ": holds version " + hex_id(m->version_id));
  }
  if (m->commit.committed && expired_.commits.count(version)) m->commit.parents.clear();
  *keep = std::move(*bytes);
  return Status::OK();
}

Result<std::unique_ptr<State>> DatasetImpl::load_state(uint64_t version) const {
  auto st = std::make_unique<State>();
  st->version = version;
  std::shared_ptr<const Bytes> keep;
  GTN_RETURN_IF_ERROR(load_manifest(version, &st->manifest, &keep));
  GTN_RETURN_IF_ERROR(load_tables(*storage_, st->manifest, &st->tables, nullptr).WithContext(path_ + "/" +
                                                                                             manifest_key(version)));
  st->manifest.nodes = {};
  for (auto& t : st->tables.tensors) renumber(&t);
  renumber(&st->tables.ids);
  return st;
}

Status DatasetImpl::load_version(uint64_t version) {
  Manifest m;
  std::shared_ptr<const Bytes> keep;
  GTN_RETURN_IF_ERROR(load_manifest(version, &m, &keep));
  Tables tables;
  GTN_RETURN_IF_ERROR(load_tables(*storage_, m, &tables, &known_).WithContext(path_ + "/" + manifest_key(version)));
  State st;
  st.version = version;
  st.manifest = std::move(m);
  st.tables = std::move(tables);
  manifest_bytes_ = std::move(keep);
  return install_state(st);
}

// Makes `st` the in-memory state; pending samples and unpublished bookkeeping start empty.
Status DatasetImpl::install_state(State& st) {
  const Manifest& m = st.manifest;
  version_id_ = st.version;
  commit_ = m.commit;
  length_ = m.length;
  published_length_ = m.length;
  tensors_.clear();
  for (size_t t = 0; t < m.tensors.size(); ++t) {
    auto ts = std::make_unique<TensorState>();
    ts->meta = m.tensors[t];
    ts->set_table(std::move(st.tables.tensors[t]));
    tensors_.push_back(std::move(ts));
  }
  ids_ = std::move(st.tables.ids);
  renumber(&ids_);
  next_key_ = m.next_tensor_key;
  for (const auto& ts : tensors_) {
    if (ts->meta.key.size() > 1 && ts->meta.key[0] == 't') {
      next_key_ = std::max<uint64_t>(next_key_, std::strtoull(ts->meta.key.c_str() + 1, nullptr, 10) + 1);
    }
  }
  unpublished_.clear();
  fresh_.clear();
  dirty_ = false;
  ref_stale_ = false;
  manifest_durable_ = true;
  return Status::OK();
}

Status DatasetImpl::register_read() {
  GTN_ASSIGN_OR_RETURN(auto registry, storage_->lock_registry(/*exclusive=*/false));
  reader_lock_.reset();
  if (!registry) return Status::OK();  // no registry (read-only media, or no writer yet)
  GTN_ASSIGN_OR_RETURN(reader_lock_, storage_->register_reader({version_id_}));
  return Status::OK();
}

Status DatasetImpl::write_ref(const std::string& key, uint64_t version) {
  return storage_->write_atomic(key, encode_ref(version));
}

std::string DatasetImpl::head_commit() const {
  if (commit_.committed) return hex_id(version_id_);
  return commit_.parents.empty() ? std::string() : hex_id(commit_.parents[0]);
}

bool DatasetImpl::has_uncommitted_changes() const {
  if (!commit_.committed) return true;
  if (dirty_) return true;
  for (const auto& ts : tensors_) {
    if (ts->pending.size() > 0) return true;
  }
  return false;
}

// --- naming versions ---

Result<uint64_t> DatasetImpl::resolve(const std::string& target) const {
  if (target.empty()) return Status::InvalidArgument("empty branch, tag or commit name");
  // "<name>~N": the N-th first-parent ancestor.
  size_t tilde = target.rfind('~');
  if (tilde != std::string::npos && tilde > 0) {
    std::string base = target.substr(0, tilde), count = target.substr(tilde + 1);
    if (count.empty()) count = "1";
    if (count.find_first_not_of("0123456789") != std::string::npos || count.size() > 9) {
      return Status::InvalidArgument("'" + target + "': expected <branch, tag or commit>~<number>");
    }
    GTN_ASSIGN_OR_RETURN(uint64_t v, resolve_commit(base));
    for (long n = std::stol(count); n > 0; --n) {
      Manifest m;
      std::shared_ptr<const Bytes> keep;
      GTN_RETURN_IF_ERROR(load_manifest(v, &m, &keep));
      if (m.commit.parents.empty()) {
        if (expired_.commits.count(v)) {
          return Status::NotFound("'" + target + "': the history before commit " + hex_id(v) +
                                  " was expired (expire_history)");
        }
        return Status::NotFound("'" + target + "': commit " + hex_id(v) + " has no parent");
      }
      v = m.commit.parents[0];
    }
    return v;
  }
  if (target == "HEAD") {
    std::string h = head_commit();
    if (h.empty()) return Status::NotFound("HEAD: dataset " + path_ + " has no commit yet");
    uint64_t v = 0;
    parse_hex_id(h, &v);
    return v;
  }
  bool valid_name = check_ref_name(target, "branch").ok();
  if (valid_name) {
    for (const std::string& key : {ref_key(target), tag_key(target)}) {
      GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(key));
      if (!there) continue;
      GTN_ASSIGN_OR_RETURN(auto bytes, storage_->read(key));
      uint64_t v = 0;
      GTN_RETURN_IF_ERROR(decode_ref(bytes->view(), &v).WithContext(path_ + "/" + key));
      return v;
    }
  }
  bool hex = target.size() >= 4 && target.size() <= 16 &&
             target.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex) {
    GTN_ASSIGN_OR_RETURN(auto keys, storage_->list("versions/"));
    std::vector<uint64_t> found;
    for (const auto& k : keys) {
      std::string name = k.substr(9);
      uint64_t v = 0;
      if (name.size() == 16 + 9 && name.compare(16, 9, ".manifest") == 0 && name.compare(0, target.size(), target) == 0 &&
          parse_hex_id(name.substr(0, 16), &v)) {
        found.push_back(v);
      }
    }
    if (found.size() == 1) {
      if (expired_.unreachable.count(found[0])) {
        return Status::NotFound("commit " + hex_id(found[0]) + " of " + path_ +
                                " is no longer reachable: gc deleted its data (its branch was deleted or its "
                                "history expired)");
      }
      return found[0];
    }
    if (found.size() > 1) {
      return Status::InvalidArgument("commit prefix '" + target + "' of " + path_ + " is ambiguous (" +
                                     std::to_string(found.size()) + " versions match); give more digits");
    }
  }
  GTN_ASSIGN_OR_RETURN(auto names, branches());
  std::string known;
  for (size_t i = 0; i < names.size() && i < 10; ++i) known += (i ? ", " : "") + names[i];
  return Status::NotFound("dataset " + path_ + " has no branch, tag or commit '" + target + "' (branches: " + known +
                          ")");
}

Result<uint64_t> DatasetImpl::resolve_commit(const std::string& target) const {
  GTN_ASSIGN_OR_RETURN(uint64_t v, resolve(target));
  if (v == version_id_) {
    if (commit_.committed) return v;
    if (commit_.parents.empty()) return Status::NotFound("'" + target + "' has no commit yet");
    return commit_.parents[0];
  }
  Manifest m;
  std::shared_ptr<const Bytes> keep;
  GTN_RETURN_IF_ERROR(load_manifest(v, &m, &keep));
  if (m.commit.committed) return v;
  // A branch whose head is an uncommitted state: its last commit.
  if (m.commit.parents.empty()) return Status::NotFound("'" + target + "' has no commit yet");
  return m.commit.parents[0];
}

Result<std::vector<std::string>> DatasetImpl::branches() const {
  GTN_ASSIGN_OR_RETURN(auto keys, storage_->list("refs/heads/"));
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (k.find(".tmp-") != std::string::npos) continue;
    out.push_back(k.substr(11));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> DatasetImpl::tags() const {
  GTN_ASSIGN_OR_RETURN(auto keys, storage_->list("refs/tags/"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : keys) {
    if (k.find(".tmp-") != std::string::npos) continue;
    GTN_ASSIGN_OR_RETURN(auto bytes, storage_->read(k));
    uint64_t v = 0;
    GTN_RETURN_IF_ERROR(decode_ref(bytes->view(), &v).WithContext(path_ + "/" + k));
    out.emplace_back(k.substr(10), hex_id(v));
  }
  return out;
}

// --- commits ---

std::string DatasetImpl::author_or_default(const std::string& author) const {
  if (!author.empty()) return author;
  if (!options_.author.empty()) return options_.author;
  for (const char* var : {"GTN_AUTHOR", "USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v && *v) return v;
  }
  return "unknown";
}

Status DatasetImpl::commit_now(const std::string& message, const std::string& author, std::vector<uint64_t> parents,
                               uint64_t* id) {
  GTN_RETURN_IF_ERROR(seal_all());
  if (commit_.committed) GTN_RETURN_IF_ERROR(new_working_version());
  CommitMeta c;
  c.committed = true;
  c.parents = commit_.parents;
  for (uint64_t p : parents) c.parents.push_back(p);
  c.message = message;
  c.author = author_or_default(author);
  c.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true, &c));
  reclaim_superseded();
  *id = version_id_;
  return Status::OK();
}

Result<std::string> DatasetImpl::commit(const std::string& message, const std::string& author) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  if (!has_uncommitted_changes()) {
    return Status::InvalidArgument("nothing to commit: branch '" + branch_ + "' of " + path_ +
                                   " has no changes since commit " + head_commit());
  }
  GTN_RETURN_IF_ERROR(auto_compact());
  uint64_t id = 0;
  GTN_RETURN_IF_ERROR(commit_now(message, author, {}, &id));
  return hex_id(id);
}

Result<std::vector<uint64_t>> DatasetImpl::ancestors(uint64_t commit) const {
  std::vector<uint64_t> out;
  std::unordered_set<uint64_t> seen{commit};
  std::queue<uint64_t> to_visit;
  to_visit.push(commit);
  while (!to_visit.empty()) {
    uint64_t v = to_visit.front();
    to_visit.pop();
    out.push_back(v);
    Manifest m;
    std::shared_ptr<const Bytes> keep;
    GTN_RETURN_IF_ERROR(load_manifest(v, &m, &keep));
    for (uint64_t p : m.commit.parents) {
      if (seen.insert(p).second) to_visit.push(p);
    }
  }
  return out;
}

Result<uint64_t> DatasetImpl::merge_base(uint64_t a, uint64_t b) const {
  GTN_ASSIGN_OR_RETURN(auto from_a, ancestors(a));
  std::unordered_set<uint64_t> in_a(from_a.begin(), from_a.end());
  GTN_ASSIGN_OR_RETURN(auto from_b, ancestors(b));
  for (uint64_t v : from_b) {
    if (in_a.count(v)) return v;
  }
  return uint64_t{0};
}

Result<std::vector<CommitInfo>> DatasetImpl::log(const std::string& target) const {
  GTN_RETURN_IF_ERROR(check_open());
  uint64_t start = 0;
  if (target.empty()) {
    std::string h = head_commit();
    if (h.empty()) return std::vector<CommitInfo>();
    parse_hex_id(h, &start);
  } else {
    GTN_ASSIGN_OR_RETURN(start, resolve_commit(target));
  }
  // Every reachable commit, then children before parents, newest first among the ready.
  std::unordered_map<uint64_t, Manifest> commits;
  std::queue<uint64_t> to_visit;
  to_visit.push(start);
  while (!to_visit.empty()) {
    uint64_t v = to_visit.front();
    to_visit.pop();
    if (commits.count(v)) continue;
    Manifest m;
    std::shared_ptr<const Bytes> keep;
    GTN_RETURN_IF_ERROR(load_manifest(v, &m, &keep));
    m.nodes = {};
    m.chunks.clear();
    for (uint64_t p : m.commit.parents) to_visit.push(p);
    commits.emplace(v, std::move(m));
  }
  std::unordered_map<uint64_t, int> children;
  for (const auto& [v, m] : commits) {
    for (uint64_t p : m.commit.parents) ++children[p];
  }
  auto later = [&](uint64_t x, uint64_t y) {
    const auto& mx = commits.at(x).commit;
    const auto& my = commits.at(y).commit;
    return mx.time_ms != my.time_ms ? mx.time_ms < my.time_ms : x < y;
  };
  std::priority_queue<uint64_t, std::vector<uint64_t>, decltype(later)> ready(later);
  ready.push(start);
  std::vector<CommitInfo> out;
  while (!ready.empty()) {
    uint64_t v = ready.top();
    ready.pop();
    const Manifest& m = commits.at(v);
    CommitInfo c;
    c.id = hex_id(v);
    for (uint64_t p : m.commit.parents) {
      c.parents.push_back(hex_id(p));
      if (--children[p] == 0) ready.push(p);
    }
    c.message = m.commit.message;
    c.author = m.commit.author;
    c.time_ms = m.commit.time_ms;
    c.length = m.length;
    out.push_back(std::move(c));
  }
  return out;
}

// --- branches, tags, checkout, reset ---

Status DatasetImpl::branch(const std::string& name, const std::string& target) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; cannot branch");
  GTN_RETURN_IF_ERROR(check_ref_name(name, "branch"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(ref_key(name)));
  if (there) return Status::AlreadyExists("branch '" + name + "' already exists in " + path_);
  GTN_ASSIGN_OR_RETURN(uint64_t v, target_or_head(target, "branch '" + name + "'"));
  return write_ref(ref_key(name), v);
}

// The commit `target` names, or the current one when it is empty.
Result<uint64_t> DatasetImpl::target_or_head(const std::string& target, const std::string& what) const {
  if (!target.empty()) return resolve_commit(target);
  std::string h = head_commit();
  if (h.empty()) return Status::InvalidArgument("dataset " + path_ + " has no commit yet: commit before creating " + what);
  uint64_t v = 0;
  parse_hex_id(h, &v);
  return v;
}

Status DatasetImpl::delete_branch(const std::string& name) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only");
  GTN_RETURN_IF_ERROR(check_ref_name(name, "branch"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(ref_key(name)));
  if (!there) return Status::NotFound("dataset " + path_ + " has no branch '" + name + "'");
  if (name == branch_ || name == root_.head) {
    return Status::InvalidArgument("cannot delete branch '" + name + "': it is checked out; check out another first");
  }
  return storage_->remove(ref_key(name));
}

Status DatasetImpl::tag(const std::string& name, const std::string& target) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; cannot tag");
  GTN_RETURN_IF_ERROR(check_ref_name(name, "tag"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(tag_key(name)));
  if (there) return Status::AlreadyExists("tag '" + name + "' already exists in " + path_ + "; tags never move");
  GTN_ASSIGN_OR_RETURN(uint64_t v, target_or_head(target, "tag '" + name + "'"));
  return write_ref(tag_key(name), v);
}

Status DatasetImpl::delete_tag(const std::string& name) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only");
  GTN_RETURN_IF_ERROR(check_ref_name(name, "tag"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(tag_key(name)));
  if (!there) return Status::NotFound("dataset " + path_ + " has no tag '" + name + "'");
  return storage_->remove(tag_key(name));
}

Status DatasetImpl::checkout(const std::string& target, const CheckoutOptions& options) {
  GTN_RETURN_IF_ERROR(check_open());
  bool writable = !options_.read_only;
  if (options.create) {
    if (!writable) return Status::InvalidArgument("dataset " + path_ + " is open read-only; cannot create a branch");
    GTN_RETURN_IF_ERROR(branch(target, ""));
  }
  if (writable && !detached_ && has_uncommitted_changes() && !options.force && !options.create) {
    return Status::InvalidArgument("branch '" + branch_ + "' of " + path_ +
                                   " has uncommitted changes: commit them, reset, or check out with force (they "
                                   "stay on '" + branch_ + "')");
  }
  GTN_ASSIGN_OR_RETURN(bool is_branch,
                       check_ref_name(target, "branch").ok() ? storage_->exists(ref_key(target)) : Result<bool>(false));
  uint64_t v = 0;
  GTN_ASSIGN_OR_RETURN(v, resolve(target));
  if (!is_branch) {
    Manifest m;
    std::shared_ptr<const Bytes> keep;
    GTN_RETURN_IF_ERROR(load_manifest(v, &m, &keep));
    if (!m.commit.committed) {
      return Status::InvalidArgument("'" + target + "' is an uncommitted state, not a commit");
    }
  }
  // The current branch keeps its uncommitted changes: publish them first.
  if (writable && !detached_) GTN_RETURN_IF_ERROR(flush());
  std::shared_ptr<void> registry;
  if (!writable) {
    GTN_ASSIGN_OR_RETURN(registry, storage_->lock_registry(/*exclusive=*/false));
  }
  GTN_RETURN_IF_ERROR(load_version(v));
  branch_ = is_branch ? target : std::string();
  detached_ = !is_branch;
  if (!writable) return register_read();
  if (is_branch && root_.head != target) {
    root_.head = target;
    GTN_RETURN_IF_ERROR(storage_->write_atomic(kRootKey, encode_root(root_)));
  }
  return Status::OK();
}

Status DatasetImpl::reset(const std::string& target) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  uint64_t v = 0;
  if (target.empty()) {
    std::string h = head_commit();
    if (h.empty()) return Status::InvalidArgument("dataset " + path_ + " has no commit to reset to");
    parse_hex_id(h, &v);
  } else {
    GTN_ASSIGN_OR_RETURN(v, resolve_commit(target));
  }
  GTN_RETURN_IF_ERROR(write_ref(ref_key(branch_), v));
  // Chunk files written for the dropped state are unreachable now; gc deletes them.
  return load_version(v);
}

}  // namespace gtn::store
