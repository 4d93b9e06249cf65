// Saved views (docs/query.md, "Views"; docs/format.md, "Saved views"): a name for rows of
// one commit, stored as views/<name>.json (what it is) and views/<name>.rows (the rows,
// u64 little-endian, then an XXH3-64 of them). The rows file is written first, the JSON
// last: a view exists once its JSON does, and both are durable when save_view returns.
#include <xxhash.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "gtn/store/coding.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/manifest.h"
#include "gtn/store/root_file.h"

namespace gtn::store {
namespace {

std::string view_json_key(const std::string& name) { return "views/" + name + ".json"; }
std::string view_rows_key(const std::string& name) { return "views/" + name + ".rows"; }

Result<ViewRecord> decode_view_json(const std::string& name, std::string_view bytes) {
  ViewRecord v;
  try {
    auto j = nlohmann::json::parse(bytes);
    v.name = j.at("name").get<std::string>();
    v.commit = j.at("commit").get<std::string>();
    v.query = j.value("query", "");
    v.message = j.value("message", "");
    v.time_ms = j.value("time_ms", int64_t{0});
    v.size = j.at("rows").get<uint64_t>();
  } catch (const std::exception& e) {
    return Status::Corruption("view '" + name + "': " + view_json_key(name) + " is not a valid view record: " + e.what());
  }
  if (v.name != name) return Status::Corruption("view '" + name + "': its record names '" + v.name + "'");
  return v;
}

}  // namespace

Result<std::unique_ptr<Dataset>> DatasetImpl::open_version(const std::string& target) const {
  GTN_RETURN_IF_ERROR(check_open());
  OpenOptions o = options_;
  o.read_only = true;
  o.storage = storage_;
  o.version = target;
  return Dataset::Open(path_, o);
}

Status DatasetImpl::save_view(const ViewRecord& view) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; save_view needs the writer");
  GTN_RETURN_IF_ERROR(check_ref_name(view.name, "view"));
  if (view.commit.empty()) {
    return Status::InvalidArgument("view '" + view.name +
                                   "' reads uncommitted changes; commit them first (commit()), then run the query again");
  }
  GTN_ASSIGN_OR_RETURN(uint64_t version, resolve_commit(view.commit));
  Manifest m;
  std::shared_ptr<const Bytes> keep;
  GTN_RETURN_IF_ERROR(load_manifest(version, &m, &keep));
  for (uint64_t r : view.rows) {
    if (r >= m.length) {
      return Status::OutOfRange("view '" + view.name + "' names row " + std::to_string(r) + ", but commit " +
                                hex_id(version) + " has " + std::to_string(m.length) + " rows");
    }
  }
  std::string rows;
  rows.reserve(view.rows.size() * 8 + 8);
  for (uint64_t r : view.rows) put_le<uint64_t>(&rows, r);
  put_le<uint64_t>(&rows, XXH3_64bits(rows.data(), rows.size()));
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::json j = {{"name", view.name},       {"commit", hex_id(version)}, {"query", view.query},
                      {"message", view.message}, {"time_ms", now},            {"rows", view.rows.size()}};
  GTN_RETURN_IF_ERROR(storage_->write_atomic(view_rows_key(view.name), rows));
  return storage_->write_atomic(view_json_key(view.name), j.dump(2) + "\n");
}

Result<ViewRecord> DatasetImpl::load_view(const std::string& name) const {
  GTN_RETURN_IF_ERROR(check_open());
  GTN_RETURN_IF_ERROR(check_ref_name(name, "view"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(view_json_key(name)));
  if (!there) {
    GTN_ASSIGN_OR_RETURN(auto all, views());
    std::string names;
    for (const auto& v : all) names += (names.empty() ? "" : ", ") + v.name;
    return Status::NotFound("no view named '" + name + "' (saved views: " + (names.empty() ? "none" : names) + ")");
  }
  GTN_ASSIGN_OR_RETURN(auto json, storage_->read(view_json_key(name)));
  GTN_ASSIGN_OR_RETURN(ViewRecord v, decode_view_json(name, json->view()));
  GTN_ASSIGN_OR_RETURN(auto bytes, storage_->read(view_rows_key(name)));
  std::string_view b = bytes->view();
  if (b.size() != v.size * 8 + 8) {
    return Status::Corruption("view '" + name + "': " + view_rows_key(name) + " holds " + std::to_string(b.size()) +
                              " bytes, " + std::to_string(v.size * 8 + 8) + " expected");
  }
  uint64_t sum = load_le<uint64_t>(reinterpret_cast<const uint8_t*>(b.data()) + v.size * 8);
  if (sum != XXH3_64bits(b.data(), v.size * 8)) {
    return Status::Corruption("view '" + name + "': " + view_rows_key(name) + " fails its checksum");
  }
  v.rows.resize(v.size);
  for (uint64_t i = 0; i < v.size; ++i) v.rows[i] = load_le<uint64_t>(reinterpret_cast<const uint8_t*>(b.data()) + i * 8);
  return v;
}

Result<std::vector<ViewRecord>> DatasetImpl::views() const {
  GTN_RETURN_IF_ERROR(check_open());
  GTN_ASSIGN_OR_RETURN(auto keys, storage_->list("views/"));
  std::vector<ViewRecord> out;
  for (const auto& k : keys) {
    if (k.size() < 11 || k.compare(k.size() - 5, 5, ".json") != 0 || k.find(".tmp-") != std::string::npos) continue;
    std::string name = k.substr(6, k.size() - 11);
    GTN_ASSIGN_OR_RETURN(auto json, storage_->read(k));
    GTN_ASSIGN_OR_RETURN(ViewRecord v, decode_view_json(name, json->view()));
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const ViewRecord& a, const ViewRecord& b) { return a.name < b.name; });
  return out;
}

Status DatasetImpl::delete_view(const std::string& name) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; delete_view needs the writer");
  GTN_RETURN_IF_ERROR(check_ref_name(name, "view"));
  GTN_ASSIGN_OR_RETURN(bool there, storage_->exists(view_json_key(name)));
  if (!there) return Status::NotFound("no view named '" + name + "'");
  GTN_RETURN_IF_ERROR(storage_->remove(view_json_key(name)));
  return storage_->remove(view_rows_key(name));
}

}  // namespace gtn::store
