// Little-endian fixed-width encoding of integers, and a bounds-checked reader over bytes.
// Every GTN-F binary structure (chunk header, encoders, manifest) is built from these.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace gtn::store {

template <typename T>
inline void put_le(std::string* out, T v) {
  static_assert(std::is_integral_v<T>);
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) buf[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  out->append(buf, sizeof(T));
}

template <typename T>
inline T load_le(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}

// Reads fixed-width little-endian values; every read is bounds-checked and a failed read
// leaves ok() false (callers check once at the end of a structure or before using a size).
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()) {}

  template <typename T>
  T get() {
    if (!ok_ || n_ - pos_ < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    T v = load_le<T>(p_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  // The next `len` bytes (empty and !ok() when fewer remain).
  std::string_view bytes(uint64_t len) {
    if (!ok_ || n_ - pos_ < len) {
      ok_ = false;
      return {};
    }
    std::string_view v(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return v;
  }
  bool ok() const { return ok_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// "00000000000000a1": the 16-digit lowercase hex form of a 64-bit id.
inline std::string hex_id(uint64_t id) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) s[static_cast<size_t>(i)] = kDigits[id & 0xf];
  return s;
}

// Parses a 16-digit hex id; false if `s` is not one.
inline bool parse_hex_id(std::string_view s, uint64_t* id) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char ch : s) {
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *id = v;
  return true;
}

// LEB128 varints (table tree nodes, chunk statistics).
inline void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// LEB128; false on truncation or more than 64 bits.
inline bool get_varint(ByteReader& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = in.get<uint8_t>();
    if (!in.ok()) return false;
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return shift < 63 || b <= 1;
  }
  return false;
}

}  // namespace gtn::store
