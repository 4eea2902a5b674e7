// stridekit_coreml_model: writes the Core ML model that the coreml backend would compile for one
// convolution, on any platform (no Apple framework involved). test/coreml-model.test.js runs it for every
// conformance case and reads the result with coremltools; it is also a way to look at a plan's model in
// Xcode or Netron.
//
//   stridekit_coreml_model --out conv.mlpackage --precision fp16 --rank 2 --transposed 0 --layout first
//     --activation relu --groups 1 --channels 3,8 --kernel 3,3 --stride 1,1 --dilation 1,1 --batch 1
//     --in-size 9,11 --out-size 7,9 --pad-begin 0,0 --pad-end 0,0 --weight w.f32 [--bias b.f32]
//
// --out is the .mlpackage to write (a bare .mlmodel cannot hold the weight file the large weights are in).
// Weights and bias are raw little-endian float32 files, weights channels first ((K, C/G, ...k), or
// (C, K/G, ...k) transposed). --precision is the program's type; with --units (all, cpuAndGPU,
// cpuAndNeuralEngine, cpuOnly) it is instead the precision the caller allows (fp32, tf32, fp16, bf16), and the
// program's type is what the plugin would choose for those units. Prints the model's hash (its cache
// key in the plugin) and the program's type on success: "<hash> fp16".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "compute_units.h"
#include "model_builder.h"
#include "model_package.h"

namespace {

using stridekit::coreml::ComputePrecision;

std::vector<int64_t> integers(const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const long long value = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop) throw std::invalid_argument(flag + ": '" + text + "' is not a list of integers");
    out.push_back(value);
    start = end + 1;
  }
  return out;
}

std::vector<float> read_floats(const std::string& path, size_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != count * 4) {
    throw std::invalid_argument(path + " holds " + std::to_string(bytes.size()) + " bytes, expected " +
                                std::to_string(count * 4) + " (" + std::to_string(count) + " float32 values)");
  }
  std::vector<float> values(count);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

int32_t activation_of(const std::string& name) {
  const std::map<std::string, int32_t> known{{"none", SK_ACTIVATION_NONE},       {"relu", SK_ACTIVATION_RELU},
                                              {"relu6", SK_ACTIVATION_RELU6},     {"sigmoid", SK_ACTIVATION_SIGMOID},
                                              {"tanh", SK_ACTIVATION_TANH},       {"silu", SK_ACTIVATION_SILU}};
  auto it = known.find(name);
  if (it == known.end()) throw std::invalid_argument("--activation: unknown '" + name + "'");
  return it->second;
}

void copy_per_dim(const std::string& flag, const std::vector<int64_t>& values, int rank, int64_t* into) {
  if (static_cast<int>(values.size()) != rank) {
    throw std::invalid_argument(flag + " needs " + std::to_string(rank) + " values, got " + std::to_string(values.size()));
  }
  for (int i = 0; i < SK_MAX_RANK; ++i) into[i] = i < rank ? values[static_cast<size_t>(i)] : 1;
}

int run(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
      throw std::invalid_argument(std::string("expected --flag value pairs, got '") + argv[i] + "'");
    }
    args[argv[i] + 2] = argv[i + 1];
  }
  auto need = [&](const char* flag) -> const std::string& {
    auto it = args.find(flag);
    if (it == args.end()) throw std::invalid_argument(std::string("--") + flag + " is required");
    return it->second;
  };

  sk_conv_geometry g{};
  g.struct_size = sizeof(g);
  g.rank = static_cast<int32_t>(integers("--rank", need("rank")).at(0));
  if (g.rank < 1 || g.rank > SK_MAX_RANK) throw std::invalid_argument("--rank must be 1, 2 or 3");
  g.transposed = need("transposed") == "1";
  g.layout = need("layout") == "last" ? SK_LAYOUT_CHANNELS_LAST : SK_LAYOUT_CHANNELS_FIRST;
  g.activation = activation_of(args.count("activation") ? args["activation"] : "none");
  g.groups = integers("--groups", need("groups")).at(0);
  const std::vector<int64_t> channels = integers("--channels", need("channels"));
  if (channels.size() != 2) throw std::invalid_argument("--channels is C,K");
  g.in_channels = channels[0];
  g.out_channels = channels[1];
  copy_per_dim("--kernel", integers("--kernel", need("kernel")), g.rank, g.kernel);
  copy_per_dim("--stride", integers("--stride", need("stride")), g.rank, g.stride);
  copy_per_dim("--dilation", integers("--dilation", need("dilation")), g.rank, g.dilation);
  const std::string precision_text = need("precision");
  ComputePrecision precision;
  if (args.count("units")) {
    const std::map<std::string, int32_t> allowed{{"fp32", SK_PRECISION_FP32}, {"tf32", SK_PRECISION_TF32},
                                                 {"fp16", SK_PRECISION_FP16}, {"bf16", SK_PRECISION_BF16}};
    if (!allowed.count(precision_text)) throw std::invalid_argument("--precision with --units is fp32, tf32, fp16 or bf16");
    stridekit::coreml::ComputeUnits units;
    std::string reason;
    if (!stridekit::coreml::parse_compute_units(args["units"].c_str(), &units, &reason)) throw std::invalid_argument(reason);
    g.precision = allowed.at(precision_text);
    precision = stridekit::coreml::program_precision(g.precision, units);
  } else {
    if (precision_text != "fp32" && precision_text != "fp16") throw std::invalid_argument("--precision is fp32 or fp16");
    precision = precision_text == "fp16" ? ComputePrecision::kFloat16 : ComputePrecision::kFloat32;
    g.precision = precision == ComputePrecision::kFloat16 ? SK_PRECISION_FP16 : SK_PRECISION_FP32;
  }

  sk_conv_shape s{};
  s.struct_size = sizeof(s);
  s.batch = integers("--batch", need("batch")).at(0);
  copy_per_dim("--in-size", integers("--in-size", need("in-size")), g.rank, s.in_size);
  copy_per_dim("--out-size", integers("--out-size", need("out-size")), g.rank, s.out_size);
  copy_per_dim("--pad-begin", integers("--pad-begin", need("pad-begin")), g.rank, s.pad_begin);
  copy_per_dim("--pad-end", integers("--pad-end", need("pad-end")), g.rank, s.pad_end);
  for (int i = g.rank; i < SK_MAX_RANK; ++i) s.in_size[i] = s.out_size[i] = 1, s.pad_begin[i] = s.pad_end[i] = 0;

  if (g.groups < 1 || g.in_channels < 1 || g.out_channels < 1 || g.in_channels % g.groups || g.out_channels % g.groups) {
    throw std::invalid_argument("--groups must divide both channel counts");
  }
  size_t taps = 1;
  for (int i = 0; i < g.rank; ++i) {
    if (g.kernel[i] < 1) throw std::invalid_argument("--kernel values must be positive");
    taps *= static_cast<size_t>(g.kernel[i]);
  }
  const size_t weight_count = static_cast<size_t>(g.in_channels) * static_cast<size_t>(g.out_channels / g.groups) * taps;
  const std::vector<float> weight = read_floats(need("weight"), weight_count);
  std::vector<float> bias;
  if (args.count("bias")) {
    bias = read_floats(args["bias"], static_cast<size_t>(g.out_channels));
    g.has_bias = 1;
  }

  const std::string out = need("out");
  const std::string suffix = ".mlpackage";
  if (out.size() <= suffix.size() || out.compare(out.size() - suffix.size(), suffix.size(), suffix) != 0) {
    throw std::invalid_argument("--out must name a .mlpackage");
  }
  const stridekit::coreml::Model model =
      stridekit::coreml::build_model(g, s, weight.data(), g.has_bias ? bias.data() : nullptr, precision);
  stridekit::coreml::write_model_package(out, model);
  std::printf("%s %s\n", stridekit::coreml::model_hash(model).c_str(), stridekit::coreml::precision_name(precision));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stridekit_coreml_model: %s\n", e.what());
    return 2;
  }
}
