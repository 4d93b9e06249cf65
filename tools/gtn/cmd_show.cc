// gtn show PATH INDEX [--tensor T] [--out FILE] [--version TARGET]: print one sample, or write one tensor's
// value to FILE (.png/.jpg/.jpeg for uint8 images, .npy for any numeric value).
#include <charconv>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "command.h"
#include "gtn/dataset.h"
#include "gtn/image.h"
#include "gtn/npy.h"

namespace gtn::cli {
namespace {

struct ShowArgs {
  std::string path;
  std::string index;
  std::string tensor;
  std::string out;
  std::string version;
};

constexpr int64_t kShownValues = 16;

template <typename T>
void print_values(std::ostream& os, const Array& a) {
  const T* v = a.data_as<T>();
  int64_t n = a.numel();
  os << "[";
  for (int64_t i = 0; i < std::min(n, kShownValues); ++i) {
    if (i) os << ", ";
    if constexpr (sizeof(T) == 1) {
      os << static_cast<int>(v[i]);
    } else {
      os << v[i];
    }
  }
  if (n > kShownValues) os << ", ... (" << n << " values)";
  os << "]";
}

std::string format_value(const Array& a, const TensorInfo& info) {
  std::ostringstream os;
  if (info.dtype == DType::kText) {
    os << '"' << a.as_string_view() << '"';
    return os.str();
  }
  if (info.dtype == DType::kBytes) {
    os << "<" << a.nbytes() << " bytes>";
    return os.str();
  }
  os << dtype_name(a.dtype()) << shape_to_string(a.shape()) << " ";
  switch (a.dtype()) {
    case DType::kBool: print_values<uint8_t>(os, a); break;
    case DType::kInt8: print_values<int8_t>(os, a); break;
    case DType::kInt16: print_values<int16_t>(os, a); break;
    case DType::kInt32: print_values<int32_t>(os, a); break;
    case DType::kInt64: print_values<int64_t>(os, a); break;
    case DType::kUInt8: print_values<uint8_t>(os, a); break;
    case DType::kUInt16: print_values<uint16_t>(os, a); break;
    case DType::kUInt32: print_values<uint32_t>(os, a); break;
    case DType::kUInt64: print_values<uint64_t>(os, a); break;
    case DType::kFloat16: os << "(float16 values not printed)"; break;
    case DType::kFloat32: print_values<float>(os, a); break;
    case DType::kFloat64: print_values<double>(os, a); break;
    default: break;
  }
  if (info.htype == "class_label" && a.dtype() == DType::kInt64 && a.numel() == 1) {
    int64_t label = *a.data_as<int64_t>();
    if (label >= 0 && static_cast<size_t>(label) < info.class_names.size()) os << " (" << info.class_names[label] << ")";
  }
  return os.str();
}

Status write_out(const Array& a, const std::string& path) {
  std::string ext = path.substr(path.find_last_of('.') == std::string::npos ? path.size() : path.find_last_of('.'));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".npy") return write_npy(path, a).WithContext("--out " + path);
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
    return Status::InvalidArgument("--out " + path + ": expected a .png, .jpg, .jpeg or .npy file name");
  }
  Result<std::string> bytes = encode_image(a, ext == ".png" ? Compression::kPng : Compression::kJpeg);
  if (!bytes.ok()) return bytes.status().WithContext("--out " + path);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  f.close();
  if (!f) return Status::IOError("--out " + path + ": cannot write the file");
  return Status::OK();
}

// INDEX as an integer; negative counts from the end.
Result<int64_t> parse_index(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument("INDEX must be an integer (0 is the first sample, -1 the last), got '" + text + "'");
  }
  return value;
}

Status run(const ShowArgs& args) {
  GTN_ASSIGN_OR_RETURN(int64_t requested, parse_index(args.index));
  OpenOptions options;
  options.read_only = true;
  options.version = args.version;
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(args.path, options));
  int64_t size = static_cast<int64_t>(ds->size());
  int64_t index = requested < 0 ? requested + size : requested;
  if (index < 0 || index >= size) {
    return Status::OutOfRange("index " + args.index + " out of range for dataset of " + std::to_string(size) +
                              " samples" + (size ? " (valid: 0.." + std::to_string(size - 1) + ", or -1..-" +
                                                      std::to_string(size) + " from the end)"
                                                 : ""));
  }
  std::vector<std::string> names = ds->tensor_names();
  if (!args.tensor.empty()) {
    GTN_RETURN_IF_ERROR(ds->tensor_info(args.tensor).status());
    names = {args.tensor};
  }
  if (!args.out.empty()) {
    if (names.size() != 1) {
      return Status::InvalidArgument("--out needs --tensor when the dataset has more than one tensor");
    }
    GTN_ASSIGN_OR_RETURN(Array a, ds->read(names[0], static_cast<uint64_t>(index)));
    GTN_RETURN_IF_ERROR(write_out(a, args.out));
    std::cout << "wrote " << names[0] << "[" << index << "] " << shape_to_string(a.shape()) << " to " << args.out << "\n";
    return Status::OK();
  }
  for (const std::string& name : names) {
    GTN_ASSIGN_OR_RETURN(TensorInfo info, ds->tensor_info(name));
    GTN_ASSIGN_OR_RETURN(Array a, ds->read(name, static_cast<uint64_t>(index)));
    std::cout << name << ": " << format_value(a, info) << "\n";
  }
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App* cmd = app.add_subcommand("show", "Print one sample, or write one tensor's value to an image/.npy file");
  cmd->add_option("path", args->path, "Dataset folder")->required();
  cmd->add_option("index", args->index, "Sample index (negative counts from the end)")->required();
  cmd->add_option("-t,--tensor", args->tensor, "Only this tensor");
  cmd->add_option("-o,--out", args->out, "Write the value to this .png/.jpg/.npy file");
  cmd->add_option("--version", args->version, "Branch, tag or commit to read (default: the checked-out state)");
  cmd->callback([args] { exit_on_error(run(*args)); });
}

RegisterCommand reg(40, add);

}  // namespace
}  // namespace gtn::cli
