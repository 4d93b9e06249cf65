#include "gtn/ml/model_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <xxhash.h>

namespace gtn::ml {
namespace {

constexpr size_t kHeaderSize = 48;
constexpr size_t kAlign = 64;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

void put_u32(std::string& s, size_t at, uint32_t v) { std::memcpy(&s[at], &v, 4); }
void put_u64(std::string& s, size_t at, uint64_t v) { std::memcpy(&s[at], &v, 8); }
uint32_t get_u32(const std::string& s, size_t at) { uint32_t v; std::memcpy(&v, &s[at], 4); return v; }
uint64_t get_u64(const std::string& s, size_t at) { uint64_t v; std::memcpy(&v, &s[at], 8); return v; }

}  // namespace

bool is_model_file(std::string_view bytes) {
  return bytes.size() >= sizeof(kModelMagic) && std::memcmp(bytes.data(), kModelMagic, sizeof(kModelMagic)) == 0;
}

std::string serialize_model_file(const Graph& graph, const Options& options) {
  Json j = graph_to_json(graph);
  j["options"] = options;
  Json tensors = Json::array();
  size_t offset = 0;
  for (const auto& [name, a] : graph.constants) {
    tensors.push_back({{"name", name}, {"dtype", std::string(dtype_name(a.dtype()))}, {"shape", a.shape()},
                       {"offset", offset}, {"nbytes", a.nbytes()}});
    offset = align_up(offset + a.nbytes());
  }
  j["tensors"] = tensors;
  std::string json = j.dump();
  size_t data_offset = align_up(kHeaderSize + json.size());
  size_t data_len = offset;
  std::string file(data_offset + data_len + 8, '\0');
  std::memcpy(&file[0], kModelMagic, 8);
  put_u32(file, 8, kModelFormatVersion);
  put_u32(file, 12, 0);
  put_u64(file, 16, json.size());
  put_u64(file, 24, data_offset);
  put_u64(file, 32, data_len);
  put_u64(file, 40, 0);
  std::memcpy(&file[kHeaderSize], json.data(), json.size());
  size_t at = 0;
  for (const auto& [name, a] : graph.constants) {
    if (a.nbytes()) std::memcpy(&file[data_offset + at], a.data(), a.nbytes());
    at = align_up(at + a.nbytes());
  }
  uint64_t sum = XXH3_64bits(file.data(), file.size() - 8);
  put_u64(file, file.size() - 8, sum);
  return file;
}

Status write_model_file(const std::string& path, const Graph& graph, const Options& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Status::InvalidArgument("cannot write the model to '" + path + "': it is a directory; expected a file path");
  std::string file = serialize_model_file(graph, options);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("cannot open '" + tmp + "' for writing");
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
    if (!out) return Status::IOError("write to '" + tmp + "' failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IOError("cannot rename '" + tmp + "' to '" + path + "'");
  }
  return Status::OK();
}

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Status::InvalidArgument("'" + path +
                                   "' is a directory; expected a model file (a GTN model written by "
                                   "Model.save, or an XGBoost .json / .ubj model)");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return Status::NotFound("cannot open '" + path + "': no such file");
    std::fclose(f);
    return Status::IOError("cannot read '" + path + "'");
  }
  try {
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::IOError("read of '" + path + "' failed");
    return s;
  } catch (const std::exception& e) {
    return Status::IOError("cannot read '" + path + "': " + e.what());
  }
}

Result<ModelFileContents> parse_model_file(std::string file) {
  auto corrupt = [](const std::string& m) { return Status::Corruption("model file: " + m); };
  if (!is_model_file(file)) return corrupt("bad magic (not a GTN model file)");
  if (file.size() < kHeaderSize + 8) return corrupt("truncated header");
  uint32_t version = get_u32(file, 8);
  if (version != kModelFormatVersion)
    return Status::Unsupported("model file: format version " + std::to_string(version) +
                               " is not supported (this GTN reads version 1)");
  uint64_t json_len = get_u64(file, 16), data_offset = get_u64(file, 24), data_len = get_u64(file, 32);
  if (json_len > file.size() || data_offset > file.size() || data_len > file.size() ||
      data_offset < kHeaderSize + json_len || data_offset + data_len + 8 != file.size())
    return corrupt("sizes in the header do not match the file size " + std::to_string(file.size()) +
                   " (truncated or extended file)");
  uint64_t sum = XXH3_64bits(file.data(), file.size() - 8);
  if (sum != get_u64(file, file.size() - 8)) return corrupt("checksum mismatch");
  Json j = Json::parse(file.begin() + kHeaderSize, file.begin() + kHeaderSize + json_len, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("graph JSON does not parse");
  ModelFileContents out;
  try {
    if (j.contains("options"))
      for (const auto& [k, v] : j["options"].items()) out.options[k] = v.get<std::string>();
    auto shared = std::make_shared<std::string>(std::move(file));
    for (const auto& t : j.at("tensors")) {
      std::string name = t.at("name").get<std::string>();
      GTN_ASSIGN_OR_RETURN(DType dt, parse_dtype(t.at("dtype").get<std::string>()));
      Shape shape = t.at("shape").get<Shape>();
      uint64_t off = t.at("offset").get<uint64_t>(), nbytes = t.at("nbytes").get<uint64_t>();
      if (off > data_len || nbytes > data_len - off) return corrupt("tensor '" + name + "' lies outside the data region");
      auto a = Array::View(dt, shape, shared->data() + data_offset + off, nbytes, shared);
      if (!a.ok()) return corrupt("tensor '" + name + "': " + a.status().message());
      out.constants[name] = *a;
    }
    j.erase("tensors");
    j.erase("options");
  } catch (const Json::exception& e) {
    return corrupt(std::string("malformed tensor table: ") + e.what());
  }
  out.graph_json = j.dump();
  return out;
}

}  // namespace gtn::ml
