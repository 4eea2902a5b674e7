// OpenVINO called directly: the peer that `npm run bench` sets beside stridekit's openvino backend, so
// that what the plugin and the core add around OpenVINO (the cost of the bridge) can be read off.
//
// It uses OpenVINO's public C++ API alone, as OpenVINO's own documentation has a program call it: an
// ov::Model of opset13 operations built in memory (Parameter -> Convolution or GroupConvolution with
// explicit pads -> Add bias -> Result), compiled with the properties the plugin sets (LATENCY hint, f32
// inference precision, INFERENCE_NUM_THREADS), and ov::InferRequest::infer() timed on the request's own
// input and output tensors, filled once: no N-API, no core and no per-run tensor set-up in between. For
// the benchmark's layers (forward convolutions, channels first, with bias, no activation) that is the
// graph the plugin builds too; its workarounds for degenerate geometries never apply to them.
//
// Protocol (bench/peers/openvino-direct.js): on start, one JSON line {"ok":true,"openvino":...}. Then
// one request per line on stdin, space-separated key=value fields, lists comma-separated, and one JSON
// line in reply ({"ok":false,"error":"..."} when a request fails):
//   mode=open device=CPU threads=N [precision=fp32|bf16] rank=R groups=G c=C k=K kernel=.. stride=.. dilation=.. batch=N
//     in=.. out=.. pad_begin=.. pad_end=.. x=FILE w=FILE [bias=FILE] [y=FILE]   raw little-endian float32
//     warmup= warmup_seconds= slow_seconds=
//   compiles the layer's model, fills its input, calls infer() once and warms up, as bench/timing.js's
//   timers warm() do, and keeps the layer open: {"ok":true,"compileMs":..,"slow":true|false,"properties":{..}}
//   mode=slice seconds= min_calls= max_calls= untimed=
//   times infer() on the open layer as a timer's slice(): {"ok":true,"times":[ms,...]}
//   mode=close   checks the output's shape, writes it to y and closes the layer: {"ok":true}
//   mode=overhead (the layer's fields, as for open) batch_calls= batches= warmup_batches=
//   opens the layer, times infer() in batches as measureOverhead() does, and closes it:
//   {"ok":true,"microsecondsPerCall":..,"bestMicrosecondsPerCall":..}
// Process start-up, file reading and compile_model are outside every timing. End of input ends the
// process.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <openvino/core/version.hpp>
#include <openvino/opsets/opset13.hpp>
#include <openvino/runtime/core.hpp>
#include <openvino/runtime/properties.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using Fields = std::map<std::string, std::string>;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Fields parse_fields(const std::string& line) {
  Fields fields;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("field without '=': " + word);
    fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

const std::string& field(const Fields& fields, const std::string& key) {
  auto it = fields.find(key);
  if (it == fields.end()) throw std::invalid_argument("missing field " + key);
  return it->second;
}

int64_t integer(const Fields& fields, const std::string& key) { return std::stoll(field(fields, key)); }
double number(const Fields& fields, const std::string& key) { return std::stod(field(fields, key)); }

// "3,3" into values[0..rank); exactly rank values.
void integers(const Fields& fields, const std::string& key, int rank, int64_t* values) {
  std::istringstream list(field(fields, key));
  std::string item;
  int n = 0;
  while (std::getline(list, item, ',')) {
    if (n == rank) break;
    values[n++] = std::stoll(item);
  }
  if (n != rank || std::getline(list, item, ',')) {
    throw std::invalid_argument(key + " needs " + std::to_string(rank) + " values, got " + field(fields, key));
  }
}

std::vector<float> read_floats(const std::string& file, size_t count) {
  std::ifstream in(file, std::ios::binary);
  std::vector<float> values(count);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(float)));
  if (!in || in.peek() != std::char_traits<char>::eof()) {
    throw std::invalid_argument(file + " does not hold exactly " + std::to_string(count) + " float32 values");
  }
  return values;
}

void write_floats(const std::string& file, const float* values, size_t count) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(count * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + file);
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// One forward convolution, channels first: x (batch, c, ...in), w (k, c/groups, ...kernel), y (batch, k, ...out).
struct Layer {
  int rank = 0;
  int64_t groups = 1, c = 0, k = 0, batch = 0;
  std::vector<int64_t> kernel, stride, dilation, in, out, pad_begin, pad_end;
  bool has_bias = false;
};

Layer read_layer(const Fields& f) {
  Layer l;
  l.rank = static_cast<int>(integer(f, "rank"));
  if (l.rank < 1 || l.rank > 3) throw std::invalid_argument("rank must be 1, 2 or 3");
  l.groups = integer(f, "groups");
  l.c = integer(f, "c");
  l.k = integer(f, "k");
  l.batch = integer(f, "batch");
  l.has_bias = f.count("bias") > 0;
  const std::pair<const char*, std::vector<int64_t>*> lists[] = {
      {"kernel", &l.kernel}, {"stride", &l.stride}, {"dilation", &l.dilation}, {"in", &l.in},
      {"out", &l.out},       {"pad_begin", &l.pad_begin}, {"pad_end", &l.pad_end}};
  for (const auto& [key, values] : lists) {
    values->resize(static_cast<size_t>(l.rank));
    integers(f, key, l.rank, values->data());
  }
  return l;
}

ov::Shape shape_of(int64_t batch, int64_t channels, const std::vector<int64_t>& spatial) {
  ov::Shape shape{static_cast<size_t>(batch), static_cast<size_t>(channels)};
  for (int64_t n : spatial) shape.push_back(static_cast<size_t>(n));
  return shape;
}

std::string shape_text(const ov::Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The layer as an ov::Model: Parameter -> Convolution (groups = 1) or GroupConvolution -> Add bias -> Result.
// GroupConvolution takes its weight as [G, K/G, C/G, ...k]: the same values as (K, C/G, ...k), regrouped.
std::shared_ptr<ov::Model> build_model(const Layer& l, const float* weight, const float* bias) {
  namespace ops = ov::opset13;
  auto x = std::make_shared<ops::Parameter>(ov::element::f32, shape_of(l.batch, l.c, l.in));
  ov::Shape w_shape = l.groups == 1 ? ov::Shape{static_cast<size_t>(l.k), static_cast<size_t>(l.c)}
                                    : ov::Shape{static_cast<size_t>(l.groups), static_cast<size_t>(l.k / l.groups),
                                                static_cast<size_t>(l.c / l.groups)};
  for (int64_t n : l.kernel) w_shape.push_back(static_cast<size_t>(n));
  auto w = std::make_shared<ops::Constant>(ov::element::f32, w_shape, weight);
  const ov::Strides strides(l.stride.begin(), l.stride.end()), dilations(l.dilation.begin(), l.dilation.end());
  const ov::CoordinateDiff begin(l.pad_begin.begin(), l.pad_begin.end()), end(l.pad_end.begin(), l.pad_end.end());
  ov::Output<ov::Node> y;
  if (l.groups == 1) {
    y = std::make_shared<ops::Convolution>(x, w, strides, begin, end, dilations, ov::op::PadType::EXPLICIT);
  } else {
    y = std::make_shared<ops::GroupConvolution>(x, w, strides, begin, end, dilations, ov::op::PadType::EXPLICIT);
  }
  if (bias) {
    ov::Shape b_shape{1, static_cast<size_t>(l.k)};
    b_shape.resize(b_shape.size() + static_cast<size_t>(l.rank), 1);
    y = std::make_shared<ops::Add>(y, std::make_shared<ops::Constant>(ov::element::f32, b_shape, bias));
  }
  const ov::Shape expected = shape_of(l.batch, l.k, l.out);
  if (y.get_shape() != expected) {
    throw std::invalid_argument("the model gives " + shape_text(y.get_shape()) + ", the request expects " + shape_text(expected));
  }
  return std::make_shared<ov::Model>(ov::ResultVector{std::make_shared<ops::Result>(y)}, ov::ParameterVector{x},
                                     "openvino_direct_conv");
}

// The properties the plugin compiles with, each set only where the device has it as a settable property
// (compile_model throws on one it does not know): one request at a time (LATENCY), float32 arithmetic
// (CPUs with bf16 and GPUs would otherwise pick a narrower type) unless the request permits bf16, as
// the plugin does for precision 'bf16', and the benchmark's thread count.
ov::AnyMap compile_properties(const ov::Core& core, const std::string& device, int threads, bool bf16) {
  std::vector<ov::PropertyName> supported;
  try {
    supported = core.get_property(device, ov::supported_properties);
  } catch (const std::exception&) {
    return {};  // a meta-device (AUTO:..., HETERO:...) may not answer: its defaults
  }
  auto settable = [&](const std::string& key) {
    return std::any_of(supported.begin(), supported.end(),
                       [&](const ov::PropertyName& p) { return p == key && p.is_mutable(); });
  };
  ov::AnyMap properties;
  if (settable(ov::hint::performance_mode.name())) {
    properties.emplace(ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY));
  }
  if (settable(ov::hint::inference_precision.name())) {
    properties.emplace(ov::hint::inference_precision(bf16 ? ov::element::bf16 : ov::element::f32));
  }
  if (threads > 0 && settable(ov::inference_num_threads.name())) properties.emplace(ov::inference_num_threads(threads));
  return properties;
}

size_t element_count(const ov::Shape& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

// What the compiled model settled on, so that the report can show both sides ran alike.
std::string compiled_properties(const ov::CompiledModel& compiled) {
  std::string out = "{";
  auto add = [&](const std::string& key, const std::string& value) {
    out += (out.size() > 1 ? "," : "") + json_string(key) + ":" + value;
  };
  try {
    add("INFERENCE_NUM_THREADS", std::to_string(compiled.get_property(ov::inference_num_threads)));
    add("NUM_STREAMS", std::to_string(compiled.get_property(ov::num_streams).num));
    std::ostringstream hint, precision;
    hint << compiled.get_property(ov::hint::performance_mode);
    precision << compiled.get_property(ov::hint::inference_precision);
    add("PERFORMANCE_HINT", json_string(hint.str()));
    add("INFERENCE_PRECISION_HINT", json_string(precision.str()));
  } catch (const std::exception&) {
    // a device that does not report one of these: the others are still worth showing
  }
  return out + "}";
}

// A layer's model compiled, with its request, input filled, between mode=open and mode=close.
struct OpenLayer {
  ov::CompiledModel compiled;
  ov::InferRequest request;
  ov::Shape y_shape;
  std::string y_file;  // empty: the output is not wanted
  double compile_ms;
};

// The first infer() and the warm-up, as a timer's warm() in bench/timing.js: at least `warmup` calls
// and warmup_seconds of them, none after a first call slower than slow_seconds. Whether it was.
bool warm_up(ov::InferRequest& request, const Fields& f) {
  const int warmup = static_cast<int>(integer(f, "warmup"));
  const double warmup_ms = number(f, "warmup_seconds") * 1000, slow_ms = number(f, "slow_seconds") * 1000;
  const auto first = Clock::now();
  request.infer();
  const bool slow = milliseconds_since(first) > slow_ms;
  for (int i = 1; !slow && (i < warmup || milliseconds_since(first) < warmup_ms); ++i) request.infer();
  return slow;
}

// A slice of infer() calls, as a timer's slice(): `untimed` calls, then timed ones until `seconds`
// have passed (at least min_calls, at most max_calls); the milliseconds of each, as a JSON list.
std::string time_slice(ov::InferRequest& request, const Fields& f) {
  const int64_t untimed = integer(f, "untimed"), min_calls = integer(f, "min_calls"), max_calls = integer(f, "max_calls");
  const double slice_ms = number(f, "seconds") * 1000;
  for (int64_t i = 0; i < untimed; ++i) request.infer();
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int64_t>(times.size()) < max_calls &&
         (static_cast<int64_t>(times.size()) < min_calls || milliseconds_since(start) < slice_ms)) {
    const auto t0 = Clock::now();
    request.infer();
    times.push_back(milliseconds_since(t0));
  }
  std::string list;
  for (double t : times) list += (list.empty() ? "" : ",") + json_number(t);
  return "\"times\":[" + list + "]";
}

// Microseconds per infer() in batches, as bench/timing.js measureOverhead() times a cheap call.
std::string time_overhead(ov::InferRequest& request, const Fields& f) {
  const int batch = static_cast<int>(integer(f, "batch_calls")), batches = static_cast<int>(integer(f, "batches"));
  const int warmup_batches = static_cast<int>(integer(f, "warmup_batches"));
  auto run_batch = [&] {
    for (int i = 0; i < batch; ++i) request.infer();
  };
  request.infer();
  for (int i = 0; i < warmup_batches; ++i) run_batch();
  std::vector<double> per_call;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    run_batch();
    per_call.push_back(milliseconds_since(t0) * 1000 / batch);
  }
  return "\"microsecondsPerCall\":" + json_number(median(per_call)) + ",\"bestMicrosecondsPerCall\":" +
         json_number(*std::min_element(per_call.begin(), per_call.end()));
}

// Compiles the layer the fields describe, fills its input and keeps its output's path.
OpenLayer open_layer(ov::Core& core, const Fields& f) {
  const Layer l = read_layer(f);
  int64_t weight_count = l.k * (l.c / l.groups);
  for (int64_t n : l.kernel) weight_count *= n;
  const ov::Shape x_shape = shape_of(l.batch, l.c, l.in);
  const std::vector<float> x = read_floats(field(f, "x"), element_count(x_shape));
  const std::vector<float> w = read_floats(field(f, "w"), static_cast<size_t>(weight_count));
  const std::vector<float> bias = l.has_bias ? read_floats(field(f, "bias"), static_cast<size_t>(l.k)) : std::vector<float>();

  const std::string& device = field(f, "device");
  const auto compile_start = Clock::now();
  const auto model = build_model(l, w.data(), l.has_bias ? bias.data() : nullptr);
  // precision=fp32 (the default) or bf16; the others are float32 on a CPU, as the plugin runs them.
  const bool bf16 = f.count("precision") && field(f, "precision") == "bf16";
  ov::CompiledModel compiled =
      core.compile_model(model, device, compile_properties(core, device, static_cast<int>(integer(f, "threads")), bf16));
  ov::InferRequest request = compiled.create_infer_request();
  const double compile_ms = milliseconds_since(compile_start);
  ov::Tensor input = request.get_input_tensor();
  std::memcpy(input.data<float>(), x.data(), x.size() * sizeof(float));
  return {compiled, request, shape_of(l.batch, l.k, l.out), f.count("y") ? field(f, "y") : "", compile_ms};
}

// Checks the open layer's output shape and writes the output where mode=open asked.
void write_output(OpenLayer& layer) {
  ov::Tensor output = layer.request.get_output_tensor();
  if (output.get_shape() != layer.y_shape) {
    throw std::runtime_error("OpenVINO produced " + shape_text(output.get_shape()) + ", expected " +
                             shape_text(layer.y_shape));
  }
  if (!layer.y_file.empty()) write_floats(layer.y_file, output.data<float>(), element_count(layer.y_shape));
}

std::string handle(ov::Core& core, std::optional<OpenLayer>& open, const std::string& line) {
  const Fields f = parse_fields(line);
  const std::string& mode = field(f, "mode");
  if (mode == "open") {
    open.reset();  // the previous layer's model goes before the next one compiles
    open = open_layer(core, f);
    const bool slow = warm_up(open->request, f);
    return "{\"ok\":true,\"compileMs\":" + json_number(open->compile_ms) + ",\"slow\":" + (slow ? "true" : "false") +
           ",\"properties\":" + compiled_properties(open->compiled) + "}";
  }
  if (mode == "overhead") {
    open.reset();
    OpenLayer layer = open_layer(core, f);
    const std::string timing = time_overhead(layer.request, f);
    write_output(layer);
    return "{\"ok\":true," + timing + "}";
  }
  if (mode != "slice" && mode != "close") {
    throw std::invalid_argument("mode must be open, slice, close or overhead, got " + mode);
  }
  if (!open) throw std::invalid_argument("mode=" + mode + " needs a layer opened by mode=open");
  if (mode == "slice") return "{\"ok\":true," + time_slice(open->request, f) + "}";
  write_output(*open);
  open.reset();
  return "{\"ok\":true}";
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  ov::Core core;
  {
    std::string build = ov::get_openvino_version().buildNumber;
    std::cout << "{\"ok\":true,\"openvino\":" << json_string(build.substr(0, build.find('-'))) << "}" << std::endl;
  }
  std::optional<OpenLayer> open;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string reply;
    try {
      reply = handle(core, open, line);
    } catch (const std::exception& e) {
      reply = "{\"ok\":false,\"error\":" + json_string(e.what()) + "}";
    }
    std::cout << reply << std::endl;
  }
  return 0;
}
