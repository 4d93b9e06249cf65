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
    if (f != kFeatureBlockChecksums && f != kFeatureVersions && f != kFeatureChunkStats &&
        f != kFeatureExpiredHistory) {
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

std::string tag_key(const std::string& tag) { return "refs/tags/" + tag; }

Status check_ref_name(const std::string& name, const char* what) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (char c : name) shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return Status::InvalidArgument(std::string(what) + " name '" + shown + "' is not valid: " + why +
                                   " (use letters, digits, '.', '_', '-' and '/' between parts)");
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 200) return bad("it is longer than 200 characters");
  if (name == "HEAD") return bad("HEAD names the current commit");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return bad("it holds a character other than letters, digits, '.', '_', '-', '/'");
  }
  if (name.find("..") != std::string::npos) return bad("it holds \"..\"");
  if (name.find("//") != std::string::npos) return bad("it holds \"//\"");
  if (name.back() == '/' || name.back() == '.') return bad("it ends with '/' or '.'");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (part.empty() || part[0] == '.' || part[0] == '-') return bad("a part starts with '.' or '-'");
    if (part.size() >= 5 && part.compare(part.size() - 5, 5, ".lock") == 0) return bad("a part ends with \".lock\"");
    start = end + 1;
  }
  return Status::OK();
}

std::string encode_ref(uint64_t version_id) { return hex_id(version_id) + "\n"; }

Status decode_ref(std::string_view bytes, uint64_t* version_id) {
  if (bytes.size() == 17 && bytes.back() == '\n') bytes.remove_suffix(1);
  if (!parse_hex_id(bytes, version_id)) return Status::Corruption("ref does not hold a 16-digit hex version id");
  return Status::OK();
}

}  // namespace gtn::store
