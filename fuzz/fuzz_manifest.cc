// Feeds arbitrary bytes to the manifest, schema, root and ref parsers. The manifest is
// tried as given and with its trailer checksum fixed up, so the fuzzer reaches the parser
// behind the checksum.
#include <cstdint>
#include <string>

#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"
#include "gtn/store/manifest.h"
#include "gtn/store/root_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gtn::store;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  Manifest m;
  (void)decode_manifest(bytes, &m);
  if (bytes.size() >= 8) {
    std::string fixed = bytes.substr(0, bytes.size() - 8);
    put_le<uint64_t>(&fixed, checksum64(fixed.data(), fixed.size()));
    if (decode_manifest(fixed, &m).ok()) {
      // Encoding is stable: what a decoded manifest encodes to decodes to the same encoding.
      auto encode = [](const Manifest& x) {
        return x.format == 1 ? encode_manifest_v1(x, x.commit.parents.empty() ? 0 : x.commit.parents[0])
                             : encode_manifest(x, x.nodes);
      };
      std::string once = encode(m);
      Manifest again;
      if (!decode_manifest(once, &again).ok() || encode(again) != once) __builtin_trap();
    }
  }
  std::vector<TensorMeta> tensors;
  (void)decode_schema(bytes, &tensors);
  RootFile root;
  (void)decode_root(bytes, &root);
  uint64_t version = 0;
  (void)decode_ref(bytes, &version);
  return 0;
}
