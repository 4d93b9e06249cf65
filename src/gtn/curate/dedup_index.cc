#include "gtn/curate/dedup_index.h"

#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gtn::curate {
namespace {

constexpr char kMagic[] = "GTNDEDUP1\n";
constexpr size_t kMagicLen = sizeof(kMagic) - 1;

template <typename T>
void put(std::string& out, const T* data, size_t count) {
  out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

}  // namespace

Status write_dedup_index(const std::string& path, const DedupIndex& index) {
  const RowHashes& h = index.hashes;
  uint64_t rows = h.rows();
  std::string out(kMagic, kMagicLen);
  uint32_t header_len = static_cast<uint32_t>(index.params.size());
  put(out, &header_len, 1);
  out += index.params;
  put(out, &rows, 1);
  put(out, h.exact.data(), rows);
  put(out, h.length.data(), rows);
  put(out, h.empty.data(), rows);
  put(out, h.keys.data(), rows * static_cast<uint64_t>(h.bands));
  put(out, index.roots.data(), rows);
  uint64_t sum = XXH3_64bits(out.data(), out.size());
  put(out, &sum, 1);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::IOError("cannot write the dedup index " + tmp);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return Status::IOError("cannot write the dedup index " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::OK();
}

Result<DedupIndex> read_dedup_index(const std::string& path, const std::string& expected_params, int bands) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("no dedup index at " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string data = ss.str();
  auto corrupt = [&](const std::string& why) { return Status::Corruption("dedup index " + path + ": " + why); };
  if (data.size() < kMagicLen + 4 + 8 + 8 || data.compare(0, kMagicLen, kMagic) != 0) return corrupt("not a dedup index");
  uint64_t stored;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  if (XXH3_64bits(data.data(), data.size() - 8) != stored) return corrupt("checksum mismatch");
  size_t pos = kMagicLen;
  uint32_t header_len;
  std::memcpy(&header_len, data.data() + pos, 4);
  pos += 4;
  if (pos + header_len + 8 > data.size()) return corrupt("truncated header");
  DedupIndex index;
  index.params = data.substr(pos, header_len);
  pos += header_len;
  if (index.params != expected_params) {
    index.matches = false;
    return index;
  }
  uint64_t rows;
  std::memcpy(&rows, data.data() + pos, 8);
  pos += 8;
  uint64_t need = rows * (16 + 8 + 1 + 8 * static_cast<uint64_t>(bands) + 8) + 8;
  if (data.size() - pos != need) return corrupt("size does not match its row count");
  index.hashes.bands = bands;
  index.hashes.resize(rows);
  auto take = [&](void* dst, size_t bytes) {
    std::memcpy(dst, data.data() + pos, bytes);
    pos += bytes;
  };
  take(index.hashes.exact.data(), rows * 16);
  take(index.hashes.length.data(), rows * 8);
  take(index.hashes.empty.data(), rows);
  take(index.hashes.keys.data(), rows * 8 * static_cast<uint64_t>(bands));
  index.roots.resize(rows);
  take(index.roots.data(), rows * 8);
  for (uint64_t r = 0; r < rows; ++r) {
    if (index.roots[r] > r || index.roots[index.roots[r]] != index.roots[r]) return corrupt("bad cluster root");
  }
  return index;
}

}  // namespace gtn::curate
