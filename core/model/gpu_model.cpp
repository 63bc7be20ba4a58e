#include "model/gpu_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "ref/dequant.h"

namespace tokenfab::model {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t roundUp4(uint64_t n) { return (n + 3) & ~uint64_t{3}; }

std::string mib(uint64_t bytes) { return std::to_string((bytes + kMiB - 1) / kMiB) + " MiB"; }

}  // namespace

Status GpuModel::upload(const gguf::GgufFile& file, const ProgressFn& progress) {
  vk::Device& dev = *m_device;
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : file.tensors()) total += t.n_bytes;
  uint64_t done = 0;
  auto report = [&](uint64_t bytes) -> Status {
    done += bytes;
    if (progress && !progress({"uploading weights", done, total}))
      return Status(Code::kCancelled, "loading cancelled");
    return Status::ok();
  };

  // A matrix is rewritten into the GPU layout as it is uploaded (ops::uploadMatrix: the same
  // values, quants and scales in aligned planes); the shaders decode it. Matrices that one
  // decode step multiplies with the same vector (q/k/v, gate/up) share a buffer when they have
  // the same type and shape, each at an offset aligned for binding: the grouped products read
  // them in one dispatch (ops::recordMatVecGroup / recordMatVecGlu). phi3's fused attn_qkv and
  // gate|up ffn_up are uploaded the same way, as their row parts: the grouped products then read
  // the whole fused matrix in one dispatch, and the ops after them find q, k, v, gate and up
  // where they find llama's.
  const uint64_t align = std::max<uint64_t>(16, dev.report().min_storage_buffer_offset_alignment);
  auto checkType = [&](const gguf::TensorInfo& info) -> Status {
    if (!ops::matMulSupports(info.type))
      return Status(Code::kUnsupported, "tensor " + info.name + " has type " + std::string(gguf::typeName(info.type)) +
                                            ", which the GPU path cannot run");
    return Status::ok();
  };
  // A part of a fused tensor (phi3's q|k|v, gate|up: WeightRef::row0) is its rows, a byte range.
  auto uploadTensor = [&](const vk::Buffer& buf, uint64_t at, const gguf::TensorInfo& info, const WeightRef& w) -> Status {
    std::span<const uint8_t> data = file.tensorData(info);
    const uint64_t tensor_rows = std::max<uint64_t>(info.ne[1], 1), row_bytes = info.n_bytes / tensor_rows;
    if (w.row0 + w.rows > tensor_rows || data.size() < info.n_bytes)
      return Status(Code::kCorruptData, "tensor " + info.name + ": rows out of range");
    data = data.subspan(w.row0 * row_bytes, w.rows * row_bytes);
    TF_RETURN_IF_ERROR(ops::uploadMatrix(dev, buf.view(at, ops::gpuMatrixBytes(info.type, w.rows, w.cols)), info.type,
                                         w.rows, w.cols, data, report)
                           .withContext(info.name));
    m_weight_bytes += data.size();
    return Status::ok();
  };
  using Part = std::pair<const WeightRef*, ops::QuantMatrix*>;
  // Uploads `parts` into one buffer, each at an aligned offset.
  auto shareBuffer = [&](std::span<const Part> parts) -> Status {
    std::vector<uint64_t> offsets;
    uint64_t buffer_bytes = 0;
    for (const Part& part : parts) {
      offsets.push_back(buffer_bytes);
      const gguf::TensorInfo& info = file.tensors()[part.first->index];
      buffer_bytes = (buffer_bytes + ops::gpuMatrixBytes(info.type, part.first->rows, part.first->cols) + align - 1) / align * align;
    }
    TF_ASSIGN_OR_RETURN(vk::Buffer buf, dev.createBuffer(buffer_bytes));
    for (size_t m = 0; m < parts.size(); ++m) {
      const WeightRef& w = *parts[m].first;
      const gguf::TensorInfo& info = file.tensors()[w.index];
      TF_RETURN_IF_ERROR(uploadTensor(buf, offsets[m], info, w));
      *parts[m].second = {info.type, buf.view(offsets[m], ops::gpuMatrixBytes(info.type, w.rows, w.cols)), w.rows,
                          static_cast<uint32_t>(w.cols)};
    }
    m_weight_buffers.push_back(std::move(buf));
    return Status::ok();
  };
  auto matrices = [&](std::initializer_list<Part> list) -> Status {
    const std::vector<Part> parts(list);
    const gguf::TensorInfo& first = file.tensors()[parts.front().first->index];
    bool shared = true;
    for (const Part& part : parts) {
      const gguf::TensorInfo& info = file.tensors()[part.first->index];
      TF_RETURN_IF_ERROR(checkType(info));
      shared = shared && info.type == first.type && part.first->cols == parts.front().first->cols;
    }
    if (shared) return shareBuffer(parts);
    for (const Part& part : parts) TF_RETURN_IF_ERROR(shareBuffer(std::span<const Part>(&part, 1)));
    return Status::ok();
  };
  // Norm weights, biases and rope factors are small: decoded to f32 on the CPU.
  auto vector = [&](const WeightRef& w, vk::Buffer& out) -> Status {
    if (!w.present()) return Status::ok();
    const gguf::TensorInfo& info = file.tensors()[w.index];
    std::vector<float> values(info.n_elements);
    TF_RETURN_IF_ERROR(ref::dequantize(info.type, file.tensorData(info), values).withContext(info.name));
    TF_ASSIGN_OR_RETURN(out, dev.createBuffer(values.size() * sizeof(float)));
    TF_RETURN_IF_ERROR(dev.upload(out.view(), values.data(), values.size() * sizeof(float)));
    m_weight_bytes += info.n_bytes;
    return report(info.n_bytes);
  };

  const ModelWeights& w = m_config.weights;
  TF_RETURN_IF_ERROR(matrices({{&w.token_embd, &m_token_embd}}));
  if (m_config.tied_output) {
    m_output = m_token_embd;
  } else {
    TF_RETURN_IF_ERROR(matrices({{&w.output, &m_output}}));
  }
  TF_RETURN_IF_ERROR(vector(w.output_norm, m_output_norm));
  TF_RETURN_IF_ERROR(vector(w.rope_freqs, m_rope_freqs));
  if (m_config.embd_scale != 1.0) {
    const float scale = float(m_config.embd_scale);
    TF_ASSIGN_OR_RETURN(m_embd_scale, dev.createBuffer(sizeof(float)));
    TF_RETURN_IF_ERROR(dev.upload(m_embd_scale.view(), &scale, sizeof(float)));
  }
  m_layers.resize(w.layers.size());
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    GpuLayer& g = m_layers[l];
    TF_RETURN_IF_ERROR(vector(lw.attn_norm, g.attn_norm));
    TF_RETURN_IF_ERROR(vector(lw.ffn_norm, g.ffn_norm));
    TF_RETURN_IF_ERROR(vector(lw.attn_q_bias, g.bq));
    TF_RETURN_IF_ERROR(vector(lw.attn_k_bias, g.bk));
    TF_RETURN_IF_ERROR(vector(lw.attn_v_bias, g.bv));
    TF_RETURN_IF_ERROR(vector(lw.attn_q_norm, g.q_norm));
    TF_RETURN_IF_ERROR(vector(lw.attn_k_norm, g.k_norm));
    TF_RETURN_IF_ERROR(vector(lw.attn_post_norm, g.attn_post_norm));
    TF_RETURN_IF_ERROR(vector(lw.ffn_post_norm, g.ffn_post_norm));
    if (g.bq.size() && g.bk.size() && g.bv.size()) {  // [bq | bk | bv] for the fused rope + store
      TF_ASSIGN_OR_RETURN(g.bqkv, dev.createBuffer(g.bq.size() + g.bk.size() + g.bv.size()));
      TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
      TF_RETURN_IF_ERROR(rec.copy(g.bq.view(), g.bqkv.view(0, g.bq.size())));
      TF_RETURN_IF_ERROR(rec.copy(g.bk.view(), g.bqkv.view(g.bq.size(), g.bk.size())));
      TF_RETURN_IF_ERROR(rec.copy(g.bv.view(), g.bqkv.view(g.bq.size() + g.bk.size(), g.bv.size())));
      TF_RETURN_IF_ERROR(rec.submitAndWait());
    }
    TF_RETURN_IF_ERROR(matrices({{&lw.attn_q, &g.wq}, {&lw.attn_k, &g.wk}, {&lw.attn_v, &g.wv}}));
    TF_RETURN_IF_ERROR(matrices({{&lw.attn_output, &g.wo}}));
    TF_RETURN_IF_ERROR(matrices({{&lw.ffn_gate, &g.w_gate}, {&lw.ffn_up, &g.w_up}}));
    TF_RETURN_IF_ERROR(matrices({{&lw.ffn_down, &g.w_down}}));
  }

  // One decode step reads every layer matrix once, one embedding row, and the output matrix.
  auto bytes = [](const ops::QuantMatrix& m) { return ops::quantRowBytes(m.type, m.cols) * m.rows; };
  m_bytes_per_token = bytes(m_output) + ops::quantRowBytes(m_token_embd.type, m_token_embd.cols);
  for (const GpuLayer& g : m_layers)
    m_bytes_per_token += bytes(g.wq) + bytes(g.wk) + bytes(g.wv) + bytes(g.wo) + bytes(g.w_gate) + bytes(g.w_up) +
                         bytes(g.w_down);
  return Status::ok();
}

Result<std::unique_ptr<GpuModel>> GpuModel::load(const gguf::GgufFile& file, ModelConfig config,
                                                 std::unique_ptr<vk::Device> device, bool kv_f16,
                                                 const ProgressFn& progress) {
  if (config.head_dim_v != config.head_dim)
    return Status(Code::kUnsupported, "models whose value head size differs from the key head size are not supported yet");
  if (config.head_dim % 2 != 0 || config.head_dim > 256)
    return Status(Code::kUnsupported, "head size " + std::to_string(config.head_dim) + " is not supported (even, <= 256)");
  if (config.rope_scaling == RopeScaling::kYarn)
    return Status(Code::kUnsupported, "YaRN rope scaling is not supported yet");
  if (config.weights.rope_factors_long.present() || config.weights.rope_factors_short.present())
    return Status(Code::kUnsupported, "phi3 LongRoPE (rope_factors_long/short, the 128k models) is not supported yet");

  // Check the weights fit before touching the device memory.
  uint64_t need = 0;
  for (const gguf::TensorInfo& t : file.tensors()) need += roundUp4(t.n_bytes);
  const uint64_t heap = device->report().deviceLocalBytes();
  if (heap > 0 && need > heap)
    return Status(Code::kVkOutOfDeviceMemory, "the model needs " + mib(need) + " of weights, the device-local heap of " +
                                                  device->report().name + " has " + mib(heap));

  std::unique_ptr<GpuModel> model(new GpuModel());
  model->m_config = std::move(config);
  model->m_device = std::move(device);
  model->m_kv_f16 = kv_f16;
  // Folding the RMS norm into the products after it saves a dispatch and a barrier, but every
  // subgroup recomputes the norm and reads each element of x with its norm weight. Measured on
  // lavapipe (CPU: a dispatch costs ~60 us, x loads are gathers): +10-50 % tokens/s for
  // stories260K (products <= 32K elements), -40 % for fx-llama-spm-q8_0 (a 32000 x 256 output
  // projection). A CPU device folds products of <= 64K elements; a GPU, where x and the norm
  // weight are cache hits, folds q/k/v and gate/up (not measured: no GPU was available). The
  // output projection, a vocabulary of rows, never folds. TOKENFAB_NORM_FOLD=N sets the limit
  // (0: never fold), for measuring both ways on a GPU.
  model->m_norm_fold_max_elements =
      model->m_device->report().type == "cpu" ? (uint64_t{1} << 16) : std::numeric_limits<uint64_t>::max();
  if (const char* fold = std::getenv("TOKENFAB_NORM_FOLD")) model->m_norm_fold_max_elements = std::strtoull(fold, nullptr, 10);
  TF_RETURN_IF_ERROR(model->upload(file, progress));
  // recordRopeStore rotates two pairs per invocation (NEOX needs n_rot % 4 == 0) and adds biases
  // only as one [bq | bk | bv] buffer.
  const ModelConfig& c = model->m_config;
  model->m_fuse_rope_store = c.rope_layout != RopeLayout::kNeox || c.n_rot % 4 == 0;
  // It adds the biases right before its rope, so a per-head q/k norm between the two (a model with
  // both; qwen3 has no biases) takes the separate ops.
  for (const GpuLayer& g : model->m_layers)
    if (g.bq.size() && (!g.bqkv.size() || g.q_norm.size())) model->m_fuse_rope_store = false;
  // A recorded step reads positions from buffers only on the fused rope/store path.
  const char* replay = std::getenv("TOKENFAB_REPLAY");
  model->m_replay_decode = model->m_fuse_rope_store && !(replay && std::string(replay) == "0");
  return model;
}

uint64_t GpuModel::stateBytes(int32_t n_ctx, int32_t n_batch, int32_t n_logit_rows) const {
  const ModelConfig& c = m_config;
  const uint64_t kv_elem = m_kv_f16 ? 2 : 4;
  uint64_t bytes = 0;
  for (int l = 0; l < c.n_layer; ++l) bytes += uint64_t(n_ctx) * (c.kDim(l) + c.vDim(l)) * kv_elem;
  int32_t max_kv = 0, max_ff = 0;
  for (int l = 0; l < c.n_layer; ++l) {
    max_kv = std::max(max_kv, c.kDim(l));
    max_ff = std::max(max_ff, c.nFf(l));
  }
  const uint64_t b = uint64_t(n_batch);
  bytes += b * 4 * (3ull * c.n_embd + 2ull * c.qDim() + 2ull * max_kv + 2ull * max_ff + 2);
  bytes += attentionScratchBytes(n_ctx, n_batch);
  bytes += uint64_t(n_logit_rows) * c.n_vocab * 4;
  return bytes;
}

Result<GpuState> GpuModel::newState(int32_t n_ctx, int32_t n_batch, int32_t n_logit_rows) {
  const ModelConfig& c = m_config;
  vk::Device& dev = *m_device;
  const uint64_t need = stateBytes(n_ctx, n_batch, n_logit_rows);
  const uint64_t heap = dev.report().deviceLocalBytes();
  const uint64_t used = dev.allocatedBytes();
  if (heap > 0 && need + used > heap)
    return Status(Code::kModelContextTooLarge,
                  "a context of " + std::to_string(n_ctx) + " tokens needs " + mib(need) + " of device memory; " +
                      dev.report().name + " has " + mib(heap > used ? heap - used : 0) + " free");

  GpuState s;
  s.n_ctx = n_ctx;
  s.n_batch = n_batch;
  s.n_logit_rows = n_logit_rows;
  const uint64_t kv_elem = m_kv_f16 ? 2 : 4;
  int32_t max_kv = 0, max_ff = 0;
  for (int l = 0; l < c.n_layer; ++l) {
    TF_ASSIGN_OR_RETURN(vk::Buffer kc, dev.createBuffer(roundUp4(uint64_t(n_ctx) * c.kDim(l) * kv_elem)));
    TF_ASSIGN_OR_RETURN(vk::Buffer vc, dev.createBuffer(roundUp4(uint64_t(n_ctx) * c.vDim(l) * kv_elem)));
    s.k_cache.push_back(std::move(kc));
    s.v_cache.push_back(std::move(vc));
    max_kv = std::max(max_kv, c.kDim(l));
    max_ff = std::max(max_ff, c.nFf(l));
  }
  const uint64_t b = uint64_t(n_batch) * 4;
  using Kind = vk::Device::MemoryKind;
  TF_ASSIGN_OR_RETURN(s.ids, dev.createBuffer(b, Kind::kHostVisible));
  TF_ASSIGN_OR_RETURN(s.pos, dev.createBuffer(b, Kind::kHostVisible));
  TF_ASSIGN_OR_RETURN(s.x, dev.createBuffer(b * c.n_embd));
  TF_ASSIGN_OR_RETURN(s.xn, dev.createBuffer(b * c.n_embd));
  TF_ASSIGN_OR_RETURN(s.proj, dev.createBuffer(b * c.n_embd));
  TF_ASSIGN_OR_RETURN(s.q, dev.createBuffer(b * c.qDim()));
  TF_ASSIGN_OR_RETURN(s.attn, dev.createBuffer(b * c.qDim()));
  TF_ASSIGN_OR_RETURN(s.k, dev.createBuffer(b * max_kv));
  TF_ASSIGN_OR_RETURN(s.v, dev.createBuffer(b * max_kv));
  TF_ASSIGN_OR_RETURN(s.gate, dev.createBuffer(b * max_ff));
  TF_ASSIGN_OR_RETURN(s.up, dev.createBuffer(b * max_ff));
  TF_ASSIGN_OR_RETURN(s.scratch, dev.createBuffer(std::max<uint64_t>(4, attentionScratchBytes(n_ctx, n_batch))));
  if (stepAttention(n_ctx)) {
    TF_ASSIGN_OR_RETURN(s.step, dev.createBuffer(ops::kDecodeStepBytes, Kind::kHostVisible));
    if (!s.step.mapped()) return Status(Code::kInternal, "the step buffer is not mapped");
  }
  TF_ASSIGN_OR_RETURN(s.logits, dev.createBuffer(uint64_t(n_logit_rows) * c.n_vocab * 4, Kind::kHostVisible));
  if (!s.ids.mapped() || !s.pos.mapped() || !s.logits.mapped())
    return Status(Code::kInternal, "host-visible buffers are not mapped");
  return s;
}

Status GpuModel::forward(GpuState& s, std::span<const int32_t> tokens, int32_t pos0, bool all_logits,
                         std::vector<float>& out, uint32_t* dispatches, const Tap* tap, OpProfile* profile) {
  const ModelConfig& c = m_config;
  const uint32_t n = static_cast<uint32_t>(tokens.size());
  if (n == 0 || n > uint32_t(s.n_batch)) return Status(Code::kInvalidArgument, "forward: bad chunk size");
  if (pos0 < 0 || pos0 + int32_t(n) > s.n_ctx) return Status(Code::kModelPromptTooLong, "forward: past the context");
  if (all_logits && n > uint32_t(s.n_logit_rows)) return Status(Code::kInvalidArgument, "forward: too many logit rows");

  // The per-token inputs live in host-visible buffers the graph reads: token ids, positions
  // and (decode) the step parameters of attention.
  auto* ids = static_cast<uint32_t*>(s.ids.mapped());
  auto* pos = static_cast<uint32_t*>(s.pos.mapped());
  for (uint32_t i = 0; i < n; ++i) {
    ids[i] = static_cast<uint32_t>(tokens[i]);
    pos[i] = static_cast<uint32_t>(pos0) + i;
  }
  const bool step_attention = n == 1 && s.step.size() > 0;
  if (step_attention)
    TF_RETURN_IF_ERROR(ops::writeDecodeStep(*m_device, decodeShape(s.n_ctx), uint32_t(pos0) + 1, s.step.mapped()));

  // A decode step without taps or profiling is recorded once per state and replayed: every
  // input it reads comes from the buffers above, so only the submission is per token.
  const bool replayable = step_attention && !tap && !profile && m_replay_decode;
  if (replayable && s.decode_graph) {
    TF_RETURN_IF_ERROR(s.decode_graph->replay());
    if (dispatches) *dispatches = s.decode_graph->dispatchCount();
  } else {
    TF_ASSIGN_OR_RETURN(vk::Recorder rec, m_device->newRecorder());
    std::vector<const char*> marks;
    TF_RETURN_IF_ERROR(record(rec, s, n, pos0, all_logits, tap, profile ? &marks : nullptr));
    TF_RETURN_IF_ERROR(rec.submitAndWait());
    if (dispatches) *dispatches = rec.dispatchCount();
    if (profile && !marks.empty()) {
      TF_ASSIGN_OR_RETURN(std::vector<double> ns, rec.timestampsNs());
      profile->clear();
      for (size_t i = 1; i < marks.size() && i < ns.size(); ++i) profile->push_back({marks[i], ns[i] - ns[i - 1]});
    }
    if (replayable) s.decode_graph = std::make_unique<vk::Recorder>(std::move(rec));
  }
  out.resize(size_t(all_logits ? n : 1) * c.n_vocab);
  std::memcpy(out.data(), s.logits.mapped(), out.size() * sizeof(float));
  return Status::ok();
}

ops::AttentionDecodeShape GpuModel::decodeShape(int32_t n_ctx) const {
  const ModelConfig& c = m_config;
  ops::AttentionDecodeShape shape;
  shape.n_heads = uint32_t(c.n_head);
  shape.n_kv_heads = uint32_t(c.nHeadKv(0));
  shape.head_dim = uint32_t(c.head_dim);
  shape.n_ctx = uint32_t(n_ctx);
  shape.kv_type = m_kv_f16 ? ops::KvType::kF16 : ops::KvType::kF32;
  return shape;
}

uint64_t GpuModel::attentionScratchBytes(int32_t n_ctx, int32_t n_batch) const {
  const ModelConfig& c = m_config;
  // Prompt chunks (the flash pass needs none) and single steps at the end of the context, on
  // the split path or the step path.
  const ops::AttentionShape prompt{uint32_t(n_batch), uint32_t(c.n_head), 1, uint32_t(c.head_dim),
                                   uint32_t(std::max(0, n_ctx - n_batch))};
  const ops::AttentionShape step{1, uint32_t(c.n_head), 1, uint32_t(c.head_dim), uint32_t(std::max(0, n_ctx - 1))};
  return std::max({ops::attentionScratchBytes(prompt), ops::attentionScratchBytes(step),
                   stepAttention(n_ctx) ? ops::attentionDecodeScratchBytes(*m_device, decodeShape(n_ctx)) : 0});
}

bool GpuModel::stepAttention(int32_t n_ctx) const {
  for (int l = 1; l < m_config.n_layer; ++l)
    if (m_config.nHeadKv(l) != m_config.nHeadKv(0)) return false;
  return ops::attentionDecodeSupported(*m_device, decodeShape(n_ctx));
}

// What one forward pass records into, between groups of ops: done() puts the barrier the next
// group needs, a timestamp named by the group when profiling, and, on a debug run, submits and
// hands the named intermediates (the first row of each) to the tap. The graph below therefore
// reads as the production line, with no bookkeeping between its stations.
class Line {
 public:
  struct Probe {
    std::string name;
    const vk::Buffer* buffer;
    uint64_t row;  // floats
  };
  Line(vk::Recorder& rec, vk::Device& dev, const GpuModel::Tap* tap, std::vector<const char*>* marks)
      : m_rec(rec), m_dev(dev), m_tap(tap), m_marks(tap ? nullptr : marks) {}

  vk::Recorder& rec() { return m_rec; }
  bool tapping() const { return m_tap != nullptr; }

  Status done(const char* group, std::initializer_list<Probe> probes = {}) {
    m_rec.barrier();
    if (m_marks && m_rec.timestamp().isOk()) m_marks->push_back(group);  // past the pool's size: no more marks
    if (!m_tap || probes.size() == 0) return Status::ok();
    TF_RETURN_IF_ERROR(m_rec.submitAndWait());
    for (const Probe& p : probes) {
      std::vector<float> values(p.row);
      TF_RETURN_IF_ERROR(m_dev.download(p.buffer->view(0, p.row * 4), values.data(), p.row * 4));
      (*m_tap)(p.name, std::move(values));
    }
    return m_rec.reset();
  }
  void start() {
    if (m_marks && m_rec.timestamp().isOk()) m_marks->push_back("start");
  }

 private:
  vk::Recorder& m_rec;
  vk::Device& m_dev;
  const GpuModel::Tap* m_tap;
  std::vector<const char*>* m_marks;
};

// y = x W^T, or y += x W^T (`accumulate`: the residual add fused into the product).
Status GpuModel::product(vk::Recorder& rec, const ops::QuantMatrix& w, const vk::Buffer& x, const vk::Buffer& y,
                         uint32_t n, bool accumulate) const {
  ops::MatMulLayout layout;
  layout.accumulate = accumulate;
  return n == 1 ? ops::recordMatVec(rec, w, x.view(), y.view(), 1, layout)
                : ops::recordMatMul(rec, w, x.view(), y.view(), n, layout);
}

// The forward pass as the production line: embedding, then per layer the attention block and
// the feed-forward block (each adding into the residual stream x), then the output head.
Status GpuModel::record(vk::Recorder& rec, GpuState& s, uint32_t n, int32_t pos0, bool all_logits, const Tap* tap,
                        std::vector<const char*>* marks) {
  Line line(rec, *m_device, tap, marks);
  const uint64_t e = uint64_t(m_config.n_embd);
  line.start();
  // x (n, n_embd) = token_embd[ids]
  TF_RETURN_IF_ERROR(ops::recordGetRows(rec, m_token_embd, s.ids.view(), s.x.view(), n));
  if (m_embd_scale.size()) {  // gemma: x *= sqrt(n_embd)
    TF_RETURN_IF_ERROR(line.done("get_rows"));
    TF_RETURN_IF_ERROR(ops::recordMul(rec, s.x.view(), m_embd_scale.view(), s.x.view(), n * e, 1));
  }
  TF_RETURN_IF_ERROR(line.done("get_rows", {{"inp_embd", &s.x, e}}));
  for (int l = 0; l < m_config.n_layer; ++l) {
    TF_RETURN_IF_ERROR(attentionBlock(line, s, l, n, pos0));
    TF_RETURN_IF_ERROR(feedForwardBlock(line, s, l, n));
  }
  return outputHead(line, s, n, all_logits);
}

// x += wo . attention(rope(q), rope(k), v) over the cache, q/k/v = W (rms_norm(x) * attn_norm);
// qwen3 RMS-normalises each head of q and k before the rope.
Status GpuModel::attentionBlock(Line& line, GpuState& s, int l, uint32_t n, int32_t pos0) {
  const ModelConfig& c = m_config;
  const GpuLayer& g = m_layers[size_t(l)];
  vk::Recorder& rec = line.rec();
  const uint64_t e = uint64_t(c.n_embd);
  const uint32_t n_kv = uint32_t(c.nHeadKv(l)), k_dim = uint32_t(c.kDim(l)), v_dim = uint32_t(c.vDim(l));
  const std::string blk = "blk." + std::to_string(l) + ".";
  const float eps = float(c.rms_eps);
  const ops::KvType kv_type = m_kv_f16 ? ops::KvType::kF16 : ops::KvType::kF32;
  const vk::BufferView freqs = m_rope_freqs.size() ? m_rope_freqs.view() : vk::BufferView{};
  ops::RopeConfig rope;
  rope.layout = c.rope_layout;
  rope.n_rot = uint32_t(c.n_rot);
  rope.freq_base = float(c.ropeBaseOf(l));  // gemma3's sliding layers have their own base
  rope.freq_scale = float(c.ropeFreqScaleOf(l));

  // q (n, n_head * head_dim), k (n, n_kv * head_dim), v (n, n_kv * head_dim). A decode step
  // folds the norm into the grouped product where that pays (m_norm_fold_max_elements); the
  // debug taps read the normed rows, so they keep the norm op.
  const ops::QuantMatrix qkv[3] = {g.wq, g.wk, g.wv};
  const vk::BufferView qkv_out[3] = {s.q.view(), s.k.view(), s.v.view()};
  if (n == 1 && !line.tapping() && (g.wq.rows + g.wk.rows + g.wv.rows) * e <= m_norm_fold_max_elements) {
    const ops::FusedNorm norm{g.attn_norm.view(), eps, s.xn.view()};
    TF_RETURN_IF_ERROR(ops::recordMatVecGroup(rec, qkv, s.x.view(), qkv_out, &norm));
  } else {
    TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.x.view(), g.attn_norm.view(), s.xn.view(), n, uint32_t(e), eps));
    TF_RETURN_IF_ERROR(line.done("rms_norm", {{blk + "attn_norm", &s.xn, e}}));
    if (n == 1) {
      TF_RETURN_IF_ERROR(ops::recordMatVecGroup(rec, qkv, s.xn.view(), qkv_out));
    } else {
      TF_RETURN_IF_ERROR(product(rec, g.wq, s.xn, s.q, n));
      TF_RETURN_IF_ERROR(product(rec, g.wk, s.xn, s.k, n));
      TF_RETURN_IF_ERROR(product(rec, g.wv, s.xn, s.v, n));
    }
  }
  TF_RETURN_IF_ERROR(line.done("matmul_qkv"));

  // qwen3: each head of q (n * n_head rows of head_dim) and of k (n * n_kv rows) RMS-normalised in
  // place, after the biases and before the rope.
  const uint32_t head_dim = uint32_t(c.head_dim);
  auto normHeads = [&]() -> Status {
    TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.q.view(), g.q_norm.view(), s.q.view(), n * uint32_t(c.n_head),
                                          head_dim, eps));
    return ops::recordRmsNorm(rec, s.k.view(), g.k_norm.view(), s.k.view(), n * n_kv, head_dim, eps);
  };
  const bool qk_norm = g.q_norm.size() > 0;
  if (m_fuse_rope_store && !line.tapping()) {
    if (qk_norm) {
      TF_RETURN_IF_ERROR(normHeads());
      TF_RETURN_IF_ERROR(line.done("qk_norm"));  // normed q, k for the rope
    }
    // biases, rope on q and k, and k, v into cache rows pos[0..n) in one dispatch
    ops::RopeStoreArgs a;
    a.q = s.q.view(0, uint64_t(n) * c.qDim() * 4);
    a.k = s.k.view(0, uint64_t(n) * k_dim * 4);
    a.v = s.v.view(0, uint64_t(n) * v_dim * 4);
    a.positions = s.pos.view(0, uint64_t(n) * 4);
    a.freq_factors = freqs;
    if (g.bqkv.size()) a.bias = g.bqkv.view();
    a.k_cache = s.k_cache[size_t(l)].view();
    a.v_cache = s.v_cache[size_t(l)].view();
    a.n_tokens = n;
    a.n_heads = uint32_t(c.n_head);
    a.n_kv_heads = n_kv;
    a.head_dim = head_dim;
    a.pos0 = uint32_t(pos0);
    a.kv_type = kv_type;
    a.rope = rope;
    TF_RETURN_IF_ERROR(ops::recordRopeStore(rec, a));
    TF_RETURN_IF_ERROR(line.done("rope_store"));
  } else {  // the same as separate ops, with every intermediate visible to the taps
    if (g.bq.size()) {
      TF_RETURN_IF_ERROR(ops::recordAdd(rec, s.q.view(), g.bq.view(), s.q.view(), uint64_t(n) * c.qDim(), c.qDim()));
      TF_RETURN_IF_ERROR(ops::recordAdd(rec, s.k.view(), g.bk.view(), s.k.view(), uint64_t(n) * k_dim, k_dim));
      TF_RETURN_IF_ERROR(ops::recordAdd(rec, s.v.view(), g.bv.view(), s.v.view(), uint64_t(n) * v_dim, v_dim));
    }
    if (g.bq.size() || line.tapping())
      TF_RETURN_IF_ERROR(
          line.done("bias", {{blk + "q", &s.q, uint64_t(c.qDim())}, {blk + "k", &s.k, k_dim}, {blk + "v", &s.v, v_dim}}));
    if (qk_norm) {
      TF_RETURN_IF_ERROR(normHeads());
      TF_RETURN_IF_ERROR(line.done("qk_norm", {{blk + "q_norm", &s.q, uint64_t(c.qDim())}, {blk + "k_norm", &s.k, k_dim}}));
    }
    TF_RETURN_IF_ERROR(ops::recordRope(rec, s.q.view(), s.pos.view(), freqs, n, uint32_t(c.n_head), head_dim, rope));
    TF_RETURN_IF_ERROR(ops::recordRope(rec, s.k.view(), s.pos.view(), freqs, n, n_kv, head_dim, rope));
    TF_RETURN_IF_ERROR(line.done("rope", {{blk + "q_rope", &s.q, uint64_t(c.qDim())}, {blk + "k_rope", &s.k, k_dim}}));
    TF_RETURN_IF_ERROR(ops::recordKvStore(rec, s.k.view(), s.k_cache[size_t(l)].view(), kv_type, n, k_dim, uint32_t(pos0)));
    TF_RETURN_IF_ERROR(ops::recordKvStore(rec, s.v.view(), s.v_cache[size_t(l)].view(), kv_type, n, v_dim, uint32_t(pos0)));
    TF_RETURN_IF_ERROR(line.done("kv_store"));
  }

  // attn (n, n_head * head_dim) over cache rows 0..pos0+n (a sliding layer: the last `window`
  // of them for each query)
  const uint32_t window = uint32_t(c.windowOf(l));
  const float softcap = float(c.attn_softcap);
  if (n == 1 && s.step.size() > 0) {  // keys and split from the step buffer: replayable
    ops::AttentionDecodeShape shape = decodeShape(s.n_ctx);
    shape.window = window;  // its start follows the step's key count on the GPU
    shape.softcap = softcap;
    TF_RETURN_IF_ERROR(ops::recordAttentionDecode(rec, s.q.view(), s.k_cache[size_t(l)].view(),
                                                  s.v_cache[size_t(l)].view(), s.scratch.view(), s.attn.view(),
                                                  shape, s.step.view()));
  } else {
    ops::AttentionShape shape{n, uint32_t(c.n_head), n_kv, uint32_t(c.head_dim), uint32_t(pos0), 0.0f, kv_type, 0};
    shape.window = window;
    shape.softcap = softcap;
    TF_RETURN_IF_ERROR(ops::recordAttention(rec, s.q.view(), s.k_cache[size_t(l)].view(), s.v_cache[size_t(l)].view(),
                                            s.scratch.view(), s.attn.view(), shape));
  }
  TF_RETURN_IF_ERROR(line.done("attention", {{blk + "attn_out", &s.attn, uint64_t(c.qDim())}}));
  if (g.attn_post_norm.size()) {  // gemma: x += post_attention_norm(attn wo)
    TF_RETURN_IF_ERROR(product(rec, g.wo, s.attn, s.proj, n));
    TF_RETURN_IF_ERROR(line.done("matmul_o"));
    TF_RETURN_IF_ERROR(postNormResidual(line, s, g.attn_post_norm, n));
    return line.done("residual", {{blk + "ffn_inp", &s.x, e}});
  }
  TF_RETURN_IF_ERROR(product(rec, g.wo, s.attn, s.x, n, true));  // x += attn wo
  return line.done("matmul_o", {{blk + "ffn_inp", &s.x, e}});
}

Status GpuModel::postNormResidual(Line& line, GpuState& s, const vk::Buffer& post_norm, uint32_t n) {
  vk::Recorder& rec = line.rec();
  const uint64_t e = uint64_t(m_config.n_embd);
  TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.proj.view(), post_norm.view(), s.proj.view(), n, uint32_t(e),
                                        float(m_config.rms_eps)));
  TF_RETURN_IF_ERROR(line.done("post_norm"));  // the normed output, for the residual add
  return ops::recordAdd(rec, s.x.view(), s.proj.view(), s.x.view(), n * e);
}

// x += w_down . (silu(w_gate . h) * (w_up . h)), h = rms_norm(x) * ffn_norm.
Status GpuModel::feedForwardBlock(Line& line, GpuState& s, int l, uint32_t n) {
  const ModelConfig& c = m_config;
  const GpuLayer& g = m_layers[size_t(l)];
  vk::Recorder& rec = line.rec();
  const uint64_t e = uint64_t(c.n_embd), n_ff = uint64_t(c.nFf(l));
  const std::string blk = "blk." + std::to_string(l) + ".";
  const float eps = float(c.rms_eps);
  if (c.gemma) {  // x += post_ffw_norm(w_down . (gelu_tanh(w_gate . h) * (w_up . h)))
    const ops::QuantMatrix gate_up[2] = {g.w_gate, g.w_up};
    const vk::BufferView gate_up_out[2] = {s.gate.view(), s.up.view()};
    if (n == 1 && !line.tapping() && (g.w_gate.rows + g.w_up.rows) * e <= m_norm_fold_max_elements) {
      const ops::FusedNorm norm{g.ffn_norm.view(), eps, s.xn.view()};
      TF_RETURN_IF_ERROR(ops::recordMatVecGroup(rec, gate_up, s.x.view(), gate_up_out, &norm));
    } else {
      TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.x.view(), g.ffn_norm.view(), s.xn.view(), n, uint32_t(e), eps));
      TF_RETURN_IF_ERROR(line.done("rms_norm", {{blk + "ffn_norm", &s.xn, e}}));
      if (n == 1) {
        TF_RETURN_IF_ERROR(ops::recordMatVecGroup(rec, gate_up, s.xn.view(), gate_up_out));
      } else {
        TF_RETURN_IF_ERROR(product(rec, g.w_gate, s.xn, s.gate, n));  // gate (n, n_ff)
        TF_RETURN_IF_ERROR(product(rec, g.w_up, s.xn, s.up, n));      // up (n, n_ff)
      }
    }
    TF_RETURN_IF_ERROR(line.done("matmul_gate_up"));
    TF_RETURN_IF_ERROR(ops::recordGeluMul(rec, s.gate.view(), s.up.view(), s.gate.view(), n * n_ff));
    TF_RETURN_IF_ERROR(line.done("gelu_mul", {{blk + "ffn_act", &s.gate, n_ff}}));
    TF_RETURN_IF_ERROR(product(rec, g.w_down, s.gate, s.proj, n));
    TF_RETURN_IF_ERROR(line.done("matmul_down"));
    TF_RETURN_IF_ERROR(postNormResidual(line, s, g.ffn_post_norm, n));
    return line.done("residual", {{blk + "out", &s.x, e}});
  }
  if (n == 1 && !line.tapping() && (g.w_gate.rows + g.w_up.rows) * e <= m_norm_fold_max_elements) {
    // the norm, gate, up and the SwiGLU in one dispatch
    const ops::FusedNorm norm{g.ffn_norm.view(), eps, s.xn.view()};
    TF_RETURN_IF_ERROR(ops::recordMatVecGlu(rec, g.w_gate, g.w_up, s.x.view(), s.gate.view(), s.up.view(), &norm));
    TF_RETURN_IF_ERROR(line.done("matmul_gate_up_silu"));
  } else {
    TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.x.view(), g.ffn_norm.view(), s.xn.view(), n, uint32_t(e), eps));
    TF_RETURN_IF_ERROR(line.done("rms_norm", {{blk + "ffn_norm", &s.xn, e}}));
    if (n == 1) {
      TF_RETURN_IF_ERROR(ops::recordMatVecGlu(rec, g.w_gate, g.w_up, s.xn.view(), s.gate.view(), s.up.view()));
      TF_RETURN_IF_ERROR(line.done("matmul_gate_up_silu"));
    } else {
      TF_RETURN_IF_ERROR(product(rec, g.w_gate, s.xn, s.gate, n));  // gate (n, n_ff)
      TF_RETURN_IF_ERROR(product(rec, g.w_up, s.xn, s.up, n));      // up (n, n_ff)
      TF_RETURN_IF_ERROR(line.done("matmul_gate_up"));
      TF_RETURN_IF_ERROR(ops::recordSiluMul(rec, s.gate.view(), s.up.view(), s.gate.view(), n * n_ff));
      TF_RETURN_IF_ERROR(line.done("silu_mul"));
    }
  }
  // gate now holds silu(gate) * up
  if (line.tapping()) TF_RETURN_IF_ERROR(line.done("ffn_act", {{blk + "ffn_act", &s.gate, n_ff}}));
  TF_RETURN_IF_ERROR(product(rec, g.w_down, s.gate, s.x, n, true));  // x += act w_down
  return line.done("matmul_down", {{blk + "out", &s.x, e}});
}

// logits (rows, n_vocab) = output . (rms_norm(x) * output_norm), for every row or the last one.
Status GpuModel::outputHead(Line& line, GpuState& s, uint32_t n, bool all_logits) {
  vk::Recorder& rec = line.rec();
  const uint64_t e = uint64_t(m_config.n_embd);
  const float eps = float(m_config.rms_eps);
  const uint32_t rows = all_logits ? n : 1;
  if (!all_logits && n > 1) {
    TF_RETURN_IF_ERROR(rec.copy(s.x.view((n - 1) * e * 4, e * 4), s.proj.view(0, e * 4)));
    rec.barrier();  // proj row 0 = last row of x
    TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.proj.view(), m_output_norm.view(), s.xn.view(), 1, uint32_t(e), eps));
  } else {
    TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, s.x.view(), m_output_norm.view(), s.xn.view(), rows, uint32_t(e), eps));
  }
  if (n == 1) {
    TF_RETURN_IF_ERROR(line.done("rms_norm", {{"result_norm", &s.xn, e}}));
  } else {
    TF_RETURN_IF_ERROR(line.done("rms_norm"));
  }
  TF_RETURN_IF_ERROR(product(rec, m_output, s.xn, s.logits, rows));
  if (m_config.final_softcap > 0.0) {  // gemma2: logits = cap tanh(logits / cap)
    TF_RETURN_IF_ERROR(line.done("matmul_output"));
    const uint64_t n_logits = uint64_t(rows) * uint64_t(m_config.n_vocab);
    TF_RETURN_IF_ERROR(ops::recordSoftcap(rec, s.logits.view(), s.logits.view(), n_logits, float(m_config.final_softcap)));
    return line.done("softcap");  // logits, for the host
  }
  return line.done("matmul_output");  // logits, for the host
}

}  // namespace tokenfab::model
