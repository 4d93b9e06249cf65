#include "gtn/store/root_file.h"

#include <nlohmann/json.hpp>

#include "gtn/store/coding.h"

namespace gtn::store {

std::string encode_root(const RootFile& root) {
  nlohmann::ordered_json j;
  j["format"] = "GTN-F";
  j["format_version"] = root.format_version;
  j["reader_features"] = root.reader_features;
  j["writer_features"] = root.writer_features;
  j["head"] = root.head;
  return j.dump(2) + "\n";
}

Status decode_root(std::string_view text, RootFile* root) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("gtn.json is not a JSON object");
  if (!j.contains("format") || j["format"] != "GTN-F") return Status::Corruption("gtn.json: \"format\" is not \"GTN-F\"");
  if (!j.contains("format_version") || !j["format_version"].is_number_integer() || !j.contains("head") ||
      !j["head"].is_string()) {
    return Status::Corruption("gtn.json lacks an integer \"format_version\" or a string \"head\"");
  }
  root->format_version = j["format_version"].get<int>();
  root->head = j["head"].get<std::string>();
  if (root->head.empty() || root->head.find("..") != std::string::npos) return Status::Corruption("gtn.json: bad head");
  for (auto [field, out] : {std::pair{"reader_features", &root->reader_features},
                            std::pair{"writer_features", &root->writer_features}}) {
    out->clear();
    if (!j.contains(field) || !j[field].is_array()) return Status::Corruption(std::string("gtn.json lacks a \"") + field + "\" list");
    for (const auto& f : j[field]) {
      if (!f.is_string()) return Status::Corruption(std::string("gtn.json: ") + field + " holds a non-string");
      out->push_back(f.get<std::string>());
    }
  }
  return Status::OK();
}

Status check_readable(const RootFile& root) {
  if (root.format_version != kFormatVersion) {
    return Status::Unsupported("dataset format version " + std::to_string(root.format_version) +
                               " is not supported (this build reads version 1)");
  }
  for (const std::string& f : root.reader_features) {
    if (f != kFeatureBlockChecksums) {
      return Status::Unsupported("dataset needs reader feature '" + f + "', which this build does not have");
    }
  }
  return Status::OK();
}

bool add_reader_feature(RootFile* root, const std::string& feature) {
  for (const std::string& f : root->reader_features) {
    if (f == feature) return false;
  }
  root->reader_features.push_back(feature);
  return true;
}

Status check_writable(const RootFile& root) {
  GTN_RETURN_IF_ERROR(check_readable(root));
  if (!root.writer_features.empty()) {
    return Status::Unsupported("dataset needs writer feature '" + root.writer_features.front() +
                               "', which this build does not have; open it read-only");
  }
  return Status::OK();
}

std::string ref_key(const std::string& branch) { return "refs/heads/" + branch; }

std::string encode_ref(uint64_t version_id) { return hex_id(version_id) + "\n"; }

Status decode_ref(std::string_view bytes, uint64_t* version_id) {
  if (bytes.size() == 17 && bytes.back() == '\n') bytes.remove_suffix(1);
  if (!parse_hex_id(bytes, version_id)) return Status::Corruption("ref does not hold a 16-digit hex version id");
  return Status::OK();
}

}  // namespace gtn::store
