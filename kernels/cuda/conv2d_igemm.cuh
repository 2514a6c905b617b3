// The tiled implicit-GEMM machinery shared by versions 2, 3 and 4 of the three convolution directions
// (conv2d_forward.cu, conv2d_backward_data.cu, conv2d_backward_filter.cu).
//
// Every direction is one GEMM  C[M][N] = sum_k A[m][k] * B[k][n]  whose operands are read straight from
// the NHWC tensors and the HWIO weight (nothing is unfolded into memory):
//   forward          M = pixels,           N = Cout, K = KH*KW*Cin   A = in gathered (+tap),  B = w as [K][Cout]
//   backward-data    M = pixels,           N = Cin,  K = KH*KW*Cout  A = dout gathered (-tap), B[tap*Cout+co][ci] = w[tap][ci][co]
//   backward-filter  M = KH*KW*Cin (rows), N = Cout, K = pixels      A[r][p] = in gathered,    B = dout as [pixels][Cout]
// where "gathered" means A[pixel][tap*C + c] = src[b, y + sign*(ky - pad), x + sign*(kx - pad), c] (zero
// outside the image). Backward-filter splits K (pixels) into fixed chunks (blockIdx.z), each writing its
// own partial C tile; a second kernel sums the chunks in order (deterministic).
//
// One block computes a BM x BN tile of C with (BM/TM)*(BN/TN) threads, each holding a TM x TN tile of
// accumulators in registers. Per step of BK along K it loads a BK x BM tile of A and a BK x BN tile of B
// from global memory into registers (as groups of 4 consecutive elements: one float4 load when the shape
// and alignment allow, else 4 bounds-checked scalar loads), stores them k-major into shared memory
// (As[k][m], Bs[k][n]; padded rows) and multiplies. With kDoubleBuffer the next tile's global loads are
// in flight while the current tile is multiplied, and the store goes to the other shared buffer, so one
// barrier per step suffices. Each thread keeps the running coordinates of its groups (tap and channel
// along K for forward/data, pixel and y, x for filter) and advances them by BK per step, so the float4
// path of the K loop does no integer division.
//
// The block's work is written once, in run_block(), over an "executor" that runs a phase for its thread
// and places the barriers. On the GPU the executor is the thread itself (DeviceExecutor); on the host,
// HostExecutor runs each phase for every thread of the block in turn, which emulates the block exactly
// when the barriers are right (phases between barriers are then independent per thread).
// kernels/cuda/dev/conv2d_host_emulation.cu uses that to check the index math against the CPU reference
// on machines without a GPU, and runs the threads as host threads taking turns between barriers to catch
// a missing barrier.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/reference.h"
#include "kernels/cuda/launch.cuh"

// #pragma unroll for the device pass only (the host compiler would warn about an unknown pragma).
#ifdef __CUDA_ARCH__
#define FCN_UNROLL _Pragma("unroll")
#else
#define FCN_UNROLL
#endif

namespace fcn::igemm {

enum class Mode : int { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

// Everything a block needs, passed by value to the kernel.
struct Args {
  const float* a_src = nullptr;     // forward: in [B,H,W,Cin]; data: dout [B,H,W,Cout]; filter: in
  const float* b_src = nullptr;     // forward/data: weight [K,K,Cin,Cout]; filter: dout [B,H,W,Cout]
  float* out = nullptr;             // forward: out [M,N]; data: din [M,N]; filter: partials [chunks,M,N]
  const float* bias = nullptr;      // forward: [Cout] or null
  const float* relu_mask = nullptr;  // data: relu_out [B,H,W,Cin] or null (zero din where <= 0)
  int relu = 0;                     // forward: apply ReLU after the bias
  int batch = 0, height = 0, width = 0, kernel = 1, pad = 0;
  int in_channels = 0, out_channels = 0;
  int gather_channels = 0;  // channels of the gathered tensor: Cin (forward, filter) or Cout (data)
  int m = 0, n = 0, k = 0;  // GEMM sizes
  int k_per_chunk = 0;      // K elements per blockIdx.z chunk (a multiple of BK); = k when not split
  int a_vec = 0, b_vec = 0;  // float4 loads allowed for A / B (shape multiples of 4 and 16-byte aligned)
  int out_vec = 0;           // float4 stores allowed (N % 4 == 0, output 16-byte aligned)

  // The buffers a launch reads (false) and writes (true), for the emulated device's ordering checks.
  template <class F>
  void for_each_buffer(F&& f) const {
    f(a_src, false), f(b_src, false), f(out, true), f(bias, false), f(relu_mask, false);
  }
};

// One group of 4 elements of a tile: its k (row of the k-major tile) and w (column: m or n) offsets,
// and whether the 4 elements run along k (vector along k) or along w.
template <int BK, int BW, bool kAlongK>
struct TileGroups {
  static constexpr int kCount = BK * BW / 4;
  __host__ __device__ __forceinline__ static void coords(int g, int& k, int& w) {
    if constexpr (kAlongK) {
      w = g / (BK / 4);
      k = (g % (BK / 4)) * 4;
    } else {
      k = g / (BW / 4);
      w = (g % (BW / 4)) * 4;
    }
  }
};

// Through __ldg on the GPU, and on the emulated device (which checks the float4's alignment there).
__host__ __device__ __forceinline__ float4 load_float4(const float* p) {
#if defined(__CUDA_ARCH__) || defined(FCN_CUDA_EMULATION)
  return __ldg(reinterpret_cast<const float4*>(p));
#else
  return *reinterpret_cast<const float4*>(p);
#endif
}
__host__ __device__ __forceinline__ float load_float(const float* p) {
#ifdef __CUDA_ARCH__
  return __ldg(p);
#else
  return *p;
#endif
}
__host__ __device__ __forceinline__ float& lane(float4& v, int j) {
  return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}
__host__ __device__ __forceinline__ float lane(const float4& v, int j) {
  return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}

// Offset of src[b, y + dy, x + dx, c] where pixel = (b*H + y)*W + x, or -1 when outside the image.
__host__ __device__ __forceinline__ int64_t shifted_offset(const Args& a, int pixel, int y, int x, int dy,
                                                           int dx, int c, int channels) {
  const int yy = y + dy;
  const int xx = x + dx;
  if (yy < 0 || yy >= a.height || xx < 0 || xx >= a.width) return -1;
  return (int64_t(pixel) + int64_t(dy) * a.width + dx) * channels + c;
}

// kk = (ky*K + kx)*C + c  ->  ky, kx, c
__host__ __device__ __forceinline__ void split_k(const Args& a, int kk, int channels, int& ky, int& kx, int& c) {
  const int tap = kk / channels;
  c = kk - tap * channels;
  ky = tap / a.kernel;
  kx = tap - ky * a.kernel;
}

// The running coordinates of one A group of a thread, so that the K loop needs no integer division on
// the float4 path: decoded once before the loop, then advanced by BK after every tile's load.
//   forward/data: fixed pixel p and its y, x; the group's current k decoded to ky, kx, c.
//   filter:       fixed row r decoded to ky, kx, c; the group's current pixel p and its y, x.
struct AState {
  int p = 0, y = 0, x = 0;
  int ky = 0, kx = 0, c = 0;
};

// The running coordinates of one B group (backward-data only: k = tap*Cout + co along the float4).
struct BState {
  int tap = 0, co = 0;
};

template <Mode kMode>
__host__ __device__ __forceinline__ AState a_state(const Args& a, int m_abs, int k_abs) {
  AState q;
  if constexpr (kMode != Mode::kBackwardFilter) {
    q.p = m_abs;
    q.x = m_abs % a.width;
    q.y = (m_abs / a.width) % a.height;
    if (a.gather_channels > 0) split_k(a, k_abs, a.gather_channels, q.ky, q.kx, q.c);
  } else {
    if (m_abs < a.m && a.gather_channels > 0) split_k(a, m_abs, a.gather_channels, q.ky, q.kx, q.c);
    q.p = k_abs;
    q.x = k_abs % a.width;
    q.y = (k_abs / a.width) % a.height;
  }
  return q;
}

template <Mode kMode, int BK>
__host__ __device__ __forceinline__ void a_advance(const Args& a, AState& q) {
  if constexpr (kMode != Mode::kBackwardFilter) {
    // k += BK: carry c into kx, kx into ky. Only the float4 path reads these (C >= 4 there, so at most
    // BK/4 carries); the scalar path decodes each element itself.
    if (!a.a_vec || a.gather_channels <= 0) return;
    q.c += BK;
    while (q.c >= a.gather_channels) {
      q.c -= a.gather_channels;
      if (++q.kx == a.kernel) q.kx = 0, ++q.ky;
    }
  } else {
    // pixel += BK: carry x into y, y wraps at H (into the next image).
    q.p += BK;
    q.x += BK;
    while (q.x >= a.width) {
      q.x -= a.width;
      if (++q.y == a.height) q.y = 0;
    }
  }
}

template <int BK>
__host__ __device__ __forceinline__ void b_advance(const Args& a, BState& q) {
  if (!a.b_vec || a.out_channels <= 0) return;  // only the float4 path reads the state
  q.co += BK;
  while (q.co >= a.out_channels) q.co -= a.out_channels, ++q.tap;
}

// ---- Operand loaders: 4 elements per group into a float4, zero outside the problem -----------------
// A group at (m, k_abs), q its running coordinates: forward/data run along k, filter along m.
template <Mode kMode>
__host__ __device__ __forceinline__ float4 load_a_group(const Args& a, const AState& q, int m_abs, int k_abs,
                                                        int k_end) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  const int channels = a.gather_channels;
  if constexpr (kMode != Mode::kBackwardFilter) {
    // A[pixel][k .. k+3], k = tap*C + c; the 4 share a tap when C % 4 == 0 (k % 4 == 0 keeps them together).
    constexpr int sign = kMode == Mode::kBackwardData ? -1 : 1;
    if (m_abs >= a.m) return v;
    if (a.a_vec && k_abs + 3 < k_end) {
      const int64_t off = shifted_offset(a, q.p, q.y, q.x, sign * (q.ky - a.pad), sign * (q.kx - a.pad), q.c,
                                         channels);
      if (off >= 0) v = load_float4(a.a_src + off);
      return v;
    }
    FCN_UNROLL
    for (int j = 0; j < 4; ++j) {
      if (k_abs + j < k_end) {
        int ky, kx, c;
        split_k(a, k_abs + j, channels, ky, kx, c);
        const int64_t off = shifted_offset(a, q.p, q.y, q.x, sign * (ky - a.pad), sign * (kx - a.pad), c,
                                           channels);
        if (off >= 0) lane(v, j) = load_float(a.a_src + off);
      }
    }
  } else {
    // A[rows r .. r+3][pixel k_abs], r = tap*Cin + ci: the 4 share a tap when Cin % 4 == 0.
    if (k_abs >= k_end) return v;
    if (a.a_vec && m_abs + 3 < a.m) {
      const int64_t off = shifted_offset(a, q.p, q.y, q.x, q.ky - a.pad, q.kx - a.pad, q.c, channels);
      if (off >= 0) v = load_float4(a.a_src + off);
      return v;
    }
    FCN_UNROLL
    for (int j = 0; j < 4; ++j) {
      if (m_abs + j < a.m) {
        int ky, kx, c;
        split_k(a, m_abs + j, channels, ky, kx, c);
        const int64_t off = shifted_offset(a, q.p, q.y, q.x, ky - a.pad, kx - a.pad, c, channels);
        if (off >= 0) lane(v, j) = load_float(a.a_src + off);
      }
    }
  }
  return v;
}

// B group at (k_abs, n_abs): forward/filter run along n (row-major [K][N] source), data along k
// (q: the running tap and co of k_abs, used on the float4 path).
template <Mode kMode>
__host__ __device__ __forceinline__ float4 load_b_group(const Args& a, const BState& q, int n_abs, int k_abs,
                                                        int k_end) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  if constexpr (kMode != Mode::kBackwardData) {
    // forward: w as [K][Cout]; filter: dout as [pixels][Cout]. Both row-major with row length N.
    if (k_abs >= k_end) return v;
    const float* row = a.b_src + int64_t(k_abs) * a.n;
    if (a.b_vec && n_abs + 3 < a.n) return load_float4(row + n_abs);
    FCN_UNROLL
    for (int j = 0; j < 4; ++j) {
      if (n_abs + j < a.n) lane(v, j) = load_float(row + n_abs + j);
    }
  } else {
    // B[k = tap*Cout + co][n = ci] = w[tap][ci][co]: contiguous along co.
    if (n_abs >= a.n) return v;
    const int cout = a.out_channels;
    if (a.b_vec && k_abs + 3 < k_end) {
      return load_float4(a.b_src + (int64_t(q.tap) * a.in_channels + n_abs) * cout + q.co);
    }
    FCN_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int kk = k_abs + j;
      if (kk < k_end) {
        const int tap = kk / cout;
        const int co = kk - tap * cout;
        lane(v, j) = load_float(a.b_src + (int64_t(tap) * a.in_channels + n_abs) * cout + co);
      }
    }
  }
  return v;
}

// ---- The block ------------------------------------------------------------------------------------
template <Mode kMode, int BM, int BN, int BK, int TM, int TN, bool kDoubleBuffer>
struct Block {
  static constexpr int kBM = BM;
  static constexpr int kBN = BN;
  static constexpr int kBK = BK;
  static constexpr int kThreadsN = BN / TN;
  static constexpr int kThreads = (BM / TM) * kThreadsN;
  static constexpr int kStages = kDoubleBuffer ? 2 : 1;
  static constexpr int kPad = 4;  // keeps rows 16-byte aligned and breaks the transposed-store conflicts
  static constexpr bool kAAlongK = kMode != Mode::kBackwardFilter;
  static constexpr bool kBAlongK = kMode == Mode::kBackwardData;
  using AGroups = TileGroups<BK, BM, kAAlongK>;
  using BGroups = TileGroups<BK, BN, kBAlongK>;
  static constexpr int kALoads = (AGroups::kCount + kThreads - 1) / kThreads;
  static constexpr int kBLoads = (BGroups::kCount + kThreads - 1) / kThreads;
  static_assert(BM % TM == 0 && BN % TN == 0, "thread tile must divide the block tile");
  static_assert(BK % 4 == 0 && BM % 4 == 0 && BN % 4 == 0, "tiles are loaded in groups of 4");

  struct Shared {
    float a[kStages][BK][BM + kPad];  // As[k][m]
    float b[kStages][BK][BN + kPad];  // Bs[k][n]
  };

  struct Thread {
    float4 a_regs[kALoads];
    float4 b_regs[kBLoads];
    AState a_states[kALoads];
    BState b_states[kBLoads];
    float acc[TM][TN];
  };

  // Tile origin of this block and its K range.
  struct Origin {
    int m0, n0, chunk, k_begin, k_end;
  };

  __host__ __device__ __forceinline__ static Origin origin(const Args& a, int bx, int by, int bz) {
    Origin o;
    o.m0 = bx * BM;
    o.n0 = by * BN;
    o.chunk = bz;
    o.k_begin = bz * a.k_per_chunk;
    o.k_end = o.k_begin + a.k_per_chunk < a.k ? o.k_begin + a.k_per_chunk : a.k;
    return o;
  }

  // Zeroes the accumulators and decodes the running coordinates of the thread's groups at k_begin.
  __host__ __device__ __forceinline__ static void init(Thread& t, const Args& a, const Origin& o, int tid) {
    FCN_UNROLL
    for (int i = 0; i < kALoads; ++i) {
      const int g = tid + i * kThreads;
      int k = 0, w = 0;
      if (g < AGroups::kCount) AGroups::coords(g, k, w);
      t.a_states[i] = a_state<kMode>(a, o.m0 + w, o.k_begin + k);
    }
    FCN_UNROLL
    for (int i = 0; i < kBLoads; ++i) {
      const int g = tid + i * kThreads;
      int k = 0, w = 0;
      if (g < BGroups::kCount) BGroups::coords(g, k, w);
      if constexpr (kMode == Mode::kBackwardData) {
        const int kk = o.k_begin + k;
        t.b_states[i].tap = a.out_channels > 0 ? kk / a.out_channels : 0;
        t.b_states[i].co = kk - t.b_states[i].tap * a.out_channels;
      }
    }
    FCN_UNROLL
    for (int i = 0; i < TM; ++i)
      FCN_UNROLL
      for (int j = 0; j < TN; ++j) t.acc[i][j] = 0.f;
  }

  // Loads the tile at k_tile into registers, then advances the running coordinates by BK: it must be
  // called for k_begin, k_begin + BK, ... in order, once each.
  __host__ __device__ __forceinline__ static void load(Thread& t, const Args& a, const Origin& o, int tid,
                                                      int k_tile) {
    FCN_UNROLL
    for (int i = 0; i < kALoads; ++i) {
      const int g = tid + i * kThreads;
      if (g < AGroups::kCount) {
        int k, w;
        AGroups::coords(g, k, w);
        t.a_regs[i] = load_a_group<kMode>(a, t.a_states[i], o.m0 + w, k_tile + k, o.k_end);
        a_advance<kMode, BK>(a, t.a_states[i]);
      }
    }
    FCN_UNROLL
    for (int i = 0; i < kBLoads; ++i) {
      const int g = tid + i * kThreads;
      if (g < BGroups::kCount) {
        int k, w;
        BGroups::coords(g, k, w);
        t.b_regs[i] = load_b_group<kMode>(a, t.b_states[i], o.n0 + w, k_tile + k, o.k_end);
        if constexpr (kMode == Mode::kBackwardData) b_advance<BK>(a, t.b_states[i]);
      }
    }
  }

  __host__ __device__ __forceinline__ static void store(const Thread& t, Shared& s, int tid, int stage) {
    FCN_UNROLL
    for (int i = 0; i < kALoads; ++i) {
      const int g = tid + i * kThreads;
      if (g < AGroups::kCount) {
        int k, w;
        AGroups::coords(g, k, w);
        if constexpr (kAAlongK) {
          FCN_UNROLL
          for (int j = 0; j < 4; ++j) s.a[stage][k + j][w] = lane(t.a_regs[i], j);
        } else {
          *reinterpret_cast<float4*>(&s.a[stage][k][w]) = t.a_regs[i];
        }
      }
    }
    FCN_UNROLL
    for (int i = 0; i < kBLoads; ++i) {
      const int g = tid + i * kThreads;
      if (g < BGroups::kCount) {
        int k, w;
        BGroups::coords(g, k, w);
        if constexpr (kBAlongK) {
          FCN_UNROLL
          for (int j = 0; j < 4; ++j) s.b[stage][k + j][w] = lane(t.b_regs[i], j);
        } else {
          *reinterpret_cast<float4*>(&s.b[stage][k][w]) = t.b_regs[i];
        }
      }
    }
  }

  // acc[i][j] += sum_kk As[kk][ty*TM + i] * Bs[kk][tx*TN + j]
  __host__ __device__ __forceinline__ static void compute(Thread& t, const Shared& s, int tid, int stage) {
    const int tx = tid % kThreadsN;
    const int ty = tid / kThreadsN;
    FCN_UNROLL
    for (int kk = 0; kk < BK; ++kk) {
      float a_frag[TM];
      float b_frag[TN];
      if constexpr (TM % 4 == 0) {
        FCN_UNROLL
        for (int i = 0; i < TM; i += 4) {
          const float4 v = *reinterpret_cast<const float4*>(&s.a[stage][kk][ty * TM + i]);
          a_frag[i] = v.x, a_frag[i + 1] = v.y, a_frag[i + 2] = v.z, a_frag[i + 3] = v.w;
        }
      } else {
        FCN_UNROLL
        for (int i = 0; i < TM; ++i) a_frag[i] = s.a[stage][kk][ty * TM + i];
      }
      if constexpr (TN % 4 == 0) {
        FCN_UNROLL
        for (int j = 0; j < TN; j += 4) {
          const float4 v = *reinterpret_cast<const float4*>(&s.b[stage][kk][tx * TN + j]);
          b_frag[j] = v.x, b_frag[j + 1] = v.y, b_frag[j + 2] = v.z, b_frag[j + 3] = v.w;
        }
      } else {
        FCN_UNROLL
        for (int j = 0; j < TN; ++j) b_frag[j] = s.b[stage][kk][tx * TN + j];
      }
      FCN_UNROLL
      for (int i = 0; i < TM; ++i)
        FCN_UNROLL
        for (int j = 0; j < TN; ++j) t.acc[i][j] = fmaf(a_frag[i], b_frag[j], t.acc[i][j]);
    }
  }

  // The direction's epilogue for one output value at column n, flat index idx.
  __host__ __device__ __forceinline__ static float finish(const Args& a, float v, int n, int64_t idx) {
    if constexpr (kMode == Mode::kForward) {
      if (a.bias) v += load_float(a.bias + n);
      if (a.relu) v = v > 0.f ? v : 0.f;
    } else if constexpr (kMode == Mode::kBackwardData) {
      if (a.relu_mask && !(load_float(a.relu_mask + idx) > 0.f)) v = 0.f;
    }
    return v;
  }

  // Writes the thread's TM x TN outputs: float4 stores when N % 4 == 0 and the output is aligned.
  __host__ __device__ __forceinline__ static void epilogue(const Thread& t, const Args& a, const Origin& o,
                                                          int tid) {
    const int tx = tid % kThreadsN;
    const int ty = tid / kThreadsN;
    float* out = a.out;
    if constexpr (kMode == Mode::kBackwardFilter) out += int64_t(o.chunk) * a.m * a.n;
    FCN_UNROLL
    for (int i = 0; i < TM; ++i) {
      const int m = o.m0 + ty * TM + i;
      if (m >= a.m) continue;
      if constexpr (TN % 4 == 0) {
        if (a.out_vec) {
          FCN_UNROLL
          for (int j = 0; j < TN; j += 4) {
            const int n = o.n0 + tx * TN + j;  // n % 4 == 0 and N % 4 == 0: n < N covers n + 3
            if (n < a.n) {
              const int64_t idx = int64_t(m) * a.n + n;
              float4 v;
              v.x = finish(a, t.acc[i][j], n, idx);
              v.y = finish(a, t.acc[i][j + 1], n + 1, idx + 1);
              v.z = finish(a, t.acc[i][j + 2], n + 2, idx + 2);
              v.w = finish(a, t.acc[i][j + 3], n + 3, idx + 3);
              *reinterpret_cast<float4*>(out + idx) = v;
            }
          }
          continue;
        }
      }
      FCN_UNROLL
      for (int j = 0; j < TN; ++j) {
        const int n = o.n0 + tx * TN + j;
        if (n >= a.n) continue;
        const int64_t idx = int64_t(m) * a.n + n;
        out[idx] = finish(a, t.acc[i][j], n, idx);
      }
    }
  }

  // The whole block: prologue, main loop over K tiles, epilogue. Exec runs a phase for each thread.
  template <class Exec>
  __host__ __device__ __forceinline__ static void run_block(Exec& exec, Shared& s, const Args& a, int bx,
                                                           int by, int bz) {
    const Origin o = origin(a, bx, by, bz);
    const int k_span = o.k_end > o.k_begin ? o.k_end - o.k_begin : 0;
    const int num_tiles = (k_span + BK - 1) / BK;
    exec.each([&](Thread& t, int tid) {
      init(t, a, o, tid);
      load(t, a, o, tid, o.k_begin);
      store(t, s, tid, 0);
    });
    exec.barrier();
    for (int tile = 0; tile < num_tiles; ++tile) {
      const int cur = kDoubleBuffer ? (tile & 1) : 0;
      const int next = kDoubleBuffer ? (cur ^ 1) : 0;
      const bool has_next = tile + 1 < num_tiles;  // uniform across the block
      exec.each([&](Thread& t, int tid) {
        if (has_next) load(t, a, o, tid, o.k_begin + (tile + 1) * BK);
        compute(t, s, tid, cur);
      });
      if (has_next) {
        // Single buffer: everyone must be done reading it before it is overwritten.
        if (!kDoubleBuffer) exec.barrier();
        exec.each([&](Thread& t, int tid) { store(t, s, tid, next); });
        exec.barrier();
      }
    }
    exec.each([&](Thread& t, int tid) { epilogue(t, a, o, tid); });
  }
};

// The executor of one GPU thread: runs each phase once, for itself.
template <class Thread>
struct DeviceExecutor {
  Thread& thread;
  int tid;
  template <class F>
  __device__ __forceinline__ void each(F&& f) {
    f(thread, tid);
  }
  __device__ __forceinline__ void barrier() { __syncthreads(); }
};

template <class B>
__global__ void __launch_bounds__(B::kThreads) igemm_kernel(Args a) {
  FCN_SHARED(typename B::Shared, shared);
  typename B::Thread thread;
  DeviceExecutor<typename B::Thread> exec{thread, int(threadIdx.x)};
  B::run_block(exec, shared, a, int(blockIdx.x), int(blockIdx.y), int(blockIdx.z));
}

// Launch geometry of a problem for block type B: x over M tiles, y over N tiles, z over K chunks.
template <class B>
inline dim3 igemm_grid(const Args& a) {
  const int chunks = (a.k + a.k_per_chunk - 1) / a.k_per_chunk;
  return dim3(unsigned((a.m + B::kBM - 1) / B::kBM), unsigned((a.n + B::kBN - 1) / B::kBN),
              unsigned(chunks > 0 ? chunks : 1));
}

// ---- Problem setup shared by the launches and the host emulation --------------------------------------
// Throws std::invalid_argument (with a HINT) for shapes the kernels cannot index (conv2d_common.cu).
void conv2d_check_shape(const ConvShape& s, const char* who);

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

inline Args conv_geometry(const ConvShape& s) {
  Args a;
  a.batch = s.batch, a.height = s.height, a.width = s.width, a.kernel = s.kernel, a.pad = s.kernel / 2;
  a.in_channels = s.in_channels, a.out_channels = s.out_channels;
  return a;
}

// out [P, Cout] = in (*) weight + bias, ReLU if relu
inline Args forward_args(float* out, const float* in, const float* weight, const float* bias,
                         const ConvShape& s, bool relu, bool allow_float4) {
  Args a = conv_geometry(s);
  a.a_src = in, a.b_src = weight, a.out = out, a.bias = bias, a.relu = relu ? 1 : 0;
  a.gather_channels = s.in_channels;
  a.m = int(s.pixels()), a.n = s.out_channels, a.k = s.kernel * s.kernel * s.in_channels;
  a.k_per_chunk = a.k > 0 ? a.k : 1;
  a.a_vec = allow_float4 && s.in_channels > 0 && s.in_channels % 4 == 0 && aligned16(in);
  a.b_vec = allow_float4 && s.out_channels % 4 == 0 && aligned16(weight);
  a.out_vec = allow_float4 && a.n % 4 == 0 && aligned16(out);
  return a;
}

// din [P, Cin] = dout (*)^T weight, masked by relu_out > 0 when relu_out is given
inline Args backward_data_args(float* din, const float* dout, const float* weight, const float* relu_out,
                               const ConvShape& s, bool allow_float4) {
  Args a = conv_geometry(s);
  a.a_src = dout, a.b_src = weight, a.out = din, a.relu_mask = relu_out;
  a.gather_channels = s.out_channels;
  a.m = int(s.pixels()), a.n = s.in_channels, a.k = s.kernel * s.kernel * s.out_channels;
  a.k_per_chunk = a.k > 0 ? a.k : 1;
  // A (dout) and B (weight rows of Cout) both run along co.
  a.a_vec = allow_float4 && s.out_channels > 0 && s.out_channels % 4 == 0 && aligned16(dout);
  a.b_vec = allow_float4 && s.out_channels > 0 && s.out_channels % 4 == 0 && aligned16(weight);
  a.out_vec = allow_float4 && a.n % 4 == 0 && aligned16(din);
  return a;
}

// How backward-filter splits the pixels: a function of the shape and the block type only, so every run
// of the same shape sums in the same order. Workspace: dweight partials [chunks, rows, Cout], then dbias
// partials [chunks, Cout], each 256-byte aligned.
struct ChunkPlan {
  int chunks = 1;
  int pixels_per_chunk = 1;  // a multiple of BK
  size_t dweight_offset = 0, dbias_offset = 0, bytes = 0;
};

constexpr int64_t kFilterTargetBlocks = 4096;  // ~6 waves of ~660 resident blocks on a 132-SM GPU: small tail
constexpr int64_t kFilterMaxChunks = 8192;

template <class B>
ChunkPlan chunk_plan(const ConvShape& s) {
  auto round_up_256 = [](size_t n) { return (n + 255) / 256 * 256; };
  ChunkPlan plan;
  const int64_t pixels = s.pixels();
  const int64_t rows = int64_t(s.kernel) * s.kernel * s.in_channels;
  const int64_t tiles = ((rows + B::kBM - 1) / B::kBM) * ((s.out_channels + B::kBN - 1) / B::kBN);
  int64_t chunks = tiles > 0 ? (kFilterTargetBlocks + tiles - 1) / tiles : 1;
  const int64_t steps = (pixels + B::kBK - 1) / B::kBK;  // BK-pixel steps in all
  if (chunks > steps) chunks = steps;
  if (chunks > kFilterMaxChunks) chunks = kFilterMaxChunks;
  if (chunks < 1) chunks = 1;
  const int64_t steps_per_chunk = (steps + chunks - 1) / chunks;
  plan.pixels_per_chunk = int(steps_per_chunk > 0 ? steps_per_chunk * B::kBK : B::kBK);
  plan.chunks = int(pixels > 0 ? (pixels + plan.pixels_per_chunk - 1) / plan.pixels_per_chunk : 1);
  plan.dweight_offset = 0;
  plan.dbias_offset = round_up_256(size_t(plan.chunks) * size_t(rows) * s.out_channels * sizeof(float));
  plan.bytes = plan.dbias_offset + round_up_256(size_t(plan.chunks) * s.out_channels * sizeof(float));
  return plan;
}

// partial_weight [chunks, rows, Cout] = per-chunk in^T (*) dout
template <class B>
Args backward_filter_args(float* partial_weight, const float* dout, const float* in, const ConvShape& s,
                          const ChunkPlan& plan, bool allow_float4) {
  Args a = conv_geometry(s);
  a.a_src = in, a.b_src = dout, a.out = partial_weight;
  a.gather_channels = s.in_channels;
  a.m = s.kernel * s.kernel * s.in_channels, a.n = s.out_channels, a.k = int(s.pixels());
  a.k_per_chunk = plan.pixels_per_chunk;
  a.a_vec = allow_float4 && s.in_channels > 0 && s.in_channels % 4 == 0 && aligned16(in);
  a.b_vec = allow_float4 && s.out_channels % 4 == 0 && aligned16(dout);
  a.out_vec = allow_float4 && a.n % 4 == 0 && aligned16(partial_weight);  // chunk stride M*N keeps alignment
  return a;
}

}  // namespace fcn::igemm
