#include "gtn/store/dataset_files.h"

namespace gtn::store {

Status load_dataset_files(const std::string& path, DatasetFiles* out) {
  auto storage = open_local_storage(path, false);
  if (!storage.ok()) {
    if (storage.status().code() == StatusCode::kNotFound) return Status::NotFound(path + " is not a GTN dataset (no gtn.json)");
    return storage.status();
  }
  out->storage = *storage;
  auto root = out->storage->read(kRootKey);
  if (!root.ok()) {
    if (root.status().code() == StatusCode::kNotFound) return Status::NotFound(path + " is not a GTN dataset (no gtn.json)");
    return root.status();
  }
  GTN_RETURN_IF_ERROR(decode_root((*root)->view(), &out->root).WithContext("gtn.json"));
  GTN_RETURN_IF_ERROR(check_readable(out->root).WithContext("gtn.json"));
  std::string rk = ref_key(out->root.head);
  auto ref = out->storage->read(rk);
  if (!ref.ok()) return Status::Corruption(rk + ": " + ref.status().message());
  GTN_RETURN_IF_ERROR(decode_ref((*ref)->view(), &out->version_id).WithContext(rk));
  std::string mk = manifest_key(out->version_id);
  auto m = out->storage->read(mk);
  if (!m.ok()) return Status::Corruption(mk + ": " + m.status().message());
  out->manifest_bytes = *m;
  GTN_RETURN_IF_ERROR(decode_manifest((*m)->view(), &out->manifest).WithContext(mk));
  Tables tables;
  GTN_RETURN_IF_ERROR(load_tables(*out->storage, out->manifest, &tables, nullptr).WithContext(mk));
  out->manifest.chunks = std::move(tables.tensors);
  out->ids = std::move(tables.ids);
  return Status::OK();
}

}  // namespace gtn::store
