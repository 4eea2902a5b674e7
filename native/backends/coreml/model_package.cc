#include "model_package.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace stridekit::coreml {
namespace {

namespace fs = std::filesystem;

uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Manifest items are keyed by an identifier that Apple's tools write as a UUID; deriving it from the
// model's hash keeps the package byte-for-byte reproducible.
std::string item_identifier(const std::string& spec) {
  const std::string h = model_hash(spec) + model_hash(spec + "stridekit");
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

}  // namespace

std::string model_hash(const std::string& spec) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(fnv1a(spec)));
  return text;
}

void write_model_package(const std::string& package_dir, const std::string& spec) {
  const fs::path root(package_dir);
  std::error_code error;
  fs::remove_all(root, error);
  const fs::path data = root / "Data" / "com.apple.CoreML";
  fs::create_directories(data, error);
  if (error) throw std::runtime_error("cannot create " + data.string() + ": " + error.message());
  write_file(data / "model.mlmodel", spec);
  const std::string id = item_identifier(spec);
  write_file(root / "Manifest.json",
             "{\n"
             "    \"fileFormatVersion\": \"1.0.0\",\n"
             "    \"itemInfoEntries\": {\n"
             "        \"" + id + "\": {\n"
             "            \"author\": \"com.apple.CoreML\",\n"
             "            \"description\": \"CoreML Model Specification\",\n"
             "            \"name\": \"model.mlmodel\",\n"
             "            \"path\": \"com.apple.CoreML/model.mlmodel\"\n"
             "        }\n"
             "    },\n"
             "    \"rootModelIdentifier\": \"" + id + "\"\n"
             "}\n");
}

}  // namespace stridekit::coreml
