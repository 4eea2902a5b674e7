#include "model_package.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace stridekit::coreml {
namespace {

namespace fs = std::filesystem;

uint64_t fnv1a(const std::string& bytes, uint64_t h = 0xcbf29ce484222325ull) {
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

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// Manifest items are keyed by an identifier that Apple's tools write as a random UUID; deriving it from
// the model's hash and the item's name keeps the package byte-for-byte reproducible.
std::string item_identifier(const Model& model, const std::string& item) {
  const std::string h = model_hash(model) + hex(fnv1a(item, fnv1a(model.spec)));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

std::string manifest_item(const std::string& id, const char* description, const char* name, const char* path) {
  return "        \"" + id + "\": {\n"
         "            \"author\": \"com.apple.CoreML\",\n"
         "            \"description\": \"" + description + "\",\n"
         "            \"name\": \"" + name + "\",\n"
         "            \"path\": \"" + path + "\"\n"
         "        }";
}

}  // namespace

std::string model_hash(const Model& model) {
  // The weight file's length goes in first, so that moving bytes between the two parts changes the hash.
  const std::string length = std::to_string(model.weights.size()) + ":";
  return hex(fnv1a(model.spec, fnv1a(model.weights, fnv1a(length))));
}

void write_model_package(const std::string& package_dir, const Model& model) {
  const fs::path root(package_dir);
  std::error_code error;
  fs::remove_all(root, error);
  const fs::path data = root / "Data" / "com.apple.CoreML";
  // coremltools' package always has the weights folder, empty when no constant is stored in a file.
  fs::create_directories(data / "weights", error);
  if (error) throw std::runtime_error("cannot create " + (data / "weights").string() + ": " + error.message());
  write_file(data / "model.mlmodel", model.spec);
  if (!model.weights.empty()) write_file(data / "weights" / "weight.bin", model.weights);
  const std::string spec_id = item_identifier(model, "model.mlmodel");
  const std::string weights_id = item_identifier(model, "weights");
  write_file(root / "Manifest.json",
             "{\n"
             "    \"fileFormatVersion\": \"1.0.0\",\n"
             "    \"itemInfoEntries\": {\n" +
                 manifest_item(spec_id, "CoreML Model Specification", "model.mlmodel", "com.apple.CoreML/model.mlmodel") +
                 ",\n" + manifest_item(weights_id, "CoreML Model Weights", "weights", "com.apple.CoreML/weights") +
                 "\n"
                 "    },\n"
                 "    \"rootModelIdentifier\": \"" + spec_id + "\"\n"
                 "}\n");
}

}  // namespace stridekit::coreml
