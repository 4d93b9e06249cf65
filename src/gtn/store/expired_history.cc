#include "gtn/store/expired_history.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "gtn/store/coding.h"

namespace gtn::store {

namespace {

Status read_ids(const nlohmann::json& j, const char* field, std::unordered_set<uint64_t>* out) {
  if (!j.contains(field)) return Status::OK();
  if (!j[field].is_array()) return Status::Corruption(std::string(kExpiredKey) + ": \"" + field + "\" is not a list");
  for (const auto& c : j[field]) {
    uint64_t v = 0;
    if (!c.is_string() || c.get<std::string>().size() != 16 || !parse_hex_id(c.get<std::string>(), &v)) {
      return Status::Corruption(std::string(kExpiredKey) + ": \"" + field + "\" must hold ids of 16 hex digits");
    }
    out->insert(v);
  }
  return Status::OK();
}

nlohmann::json sorted_ids(const std::unordered_set<uint64_t>& ids) {
  std::vector<uint64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  nlohmann::json out = nlohmann::json::array();
  for (uint64_t v : sorted) out.push_back(hex_id(v));
  return out;
}

}  // namespace

Result<ExpiredHistory> load_expired(const Storage& storage) {
  ExpiredHistory out;
  GTN_ASSIGN_OR_RETURN(bool there, storage.exists(kExpiredKey));
  if (!there) return out;
  GTN_ASSIGN_OR_RETURN(auto bytes, storage.read(kExpiredKey));
  std::string_view text = bytes->view();
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(std::string(kExpiredKey) + " is not a JSON object");
  GTN_RETURN_IF_ERROR(read_ids(j, "commits", &out.commits));
  GTN_RETURN_IF_ERROR(read_ids(j, "unreachable", &out.unreachable));
  return out;
}

Status save_expired(Storage& storage, const ExpiredHistory& history) {
  nlohmann::ordered_json j;
  j["commits"] = sorted_ids(history.commits);
  j["unreachable"] = sorted_ids(history.unreachable);
  return storage.write_atomic(kExpiredKey, j.dump(2) + "\n");
}

}  // namespace gtn::store
