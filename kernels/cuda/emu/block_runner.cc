// The block scheduler of the emulated device (see block_runner.h).
#include "kernels/cuda/emu/block_runner.h"

#include <boost/context/fiber.hpp>
#include <boost/context/preallocated.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define FCN_EMU_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif

namespace cuda_emu {

thread_local constinit const ThreadCoordinates* current_coordinates = nullptr;

namespace {

// AddressSanitizer must be told of every switch between the scheduler's stack and a fiber's, or it takes
// the fiber's frames for garbage on the wrong stack. Without ASan these do nothing.
void before_switch(void** fake_stack_save, const void* to_bottom, size_t to_size) {
#if defined(FCN_EMU_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, to_bottom, to_size);
#else
  (void)fake_stack_save, (void)to_bottom, (void)to_size;
#endif
}
void after_switch(void* fake_stack, const void** from_bottom, size_t* from_size) {
#if defined(FCN_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, from_bottom, from_size);
#else
  (void)fake_stack, (void)from_bottom, (void)from_size;
#endif
}
// The scheduler's stack, as the running fiber learnt it when it was switched to.
thread_local const void* scheduler_stack_bottom = nullptr;
thread_local size_t scheduler_stack_size = 0;

namespace ctx = boost::context;

constexpr size_t kStackBytes = size_t(256) << 10;     // per CUDA thread; kernels keep little on the stack
constexpr size_t kStaticSharedLimit = size_t(48) << 10;  // static shared memory per block (sm_90, as ptxas)

// Fiber stacks, reused from block to block on one host thread.
class StackPool {
 public:
  ~StackPool() {
    for (void* s : free_) std::free(s);
  }
  ctx::stack_context take() {
    void* base = nullptr;
    if (!free_.empty()) {
      base = free_.back();
      free_.pop_back();
    } else {
      base = std::aligned_alloc(64, kStackBytes);
      if (base == nullptr) throw std::bad_alloc();
    }
    ctx::stack_context sc;
    sc.size = kStackBytes;
    sc.sp = static_cast<char*>(base) + kStackBytes;
    return sc;
  }
  void give(ctx::stack_context& sc) { free_.push_back(static_cast<char*>(sc.sp) - sc.size); }

 private:
  std::vector<void*> free_;
};
thread_local StackPool stack_pool;

struct PooledStack {
  ctx::stack_context allocate() { return stack_pool.take(); }
  void deallocate(ctx::stack_context& sc) noexcept { stack_pool.give(sc); }
};

enum class State { kRunnable, kAtBarrier, kAtWarpOp, kDone };

struct ThreadSlot {
  ThreadCoordinates coordinates;
  int linear = 0;
  State state = State::kRunnable;
  std::source_location site;   // where it waits
  int warp_ops = 0;            // warp operations it completed
  ctx::fiber fiber;            // the thread, while it is suspended
  ctx::fiber scheduler;        // the scheduler, while the thread runs
  const void* stack_bottom = nullptr;  // its fiber's stack (for AddressSanitizer)
  size_t stack_size = 0;
};

struct WarpExchange {
  unsigned arrived = 0, mask = 0;
  uint64_t value[32] = {};
  std::source_location site;
};

struct SharedBlock {
  const char* file;
  unsigned line, column;
  void* memory;
};

// Thrown inside a fiber by kernel_fault(); caught at the fiber's top.
struct FaultSignal {
  KernelFault fault;
};
// Thrown inside a suspended fiber when its block is abandoned after a fault, so that it unwinds.
struct CancelSignal {};

struct BlockRun {
  const LaunchRequest* launch = nullptr;
  std::vector<ThreadSlot> threads;
  std::vector<WarpExchange> warps;  // [warps * 2]: two exchanges per warp, alternating
  std::vector<SharedBlock> shared;
  size_t shared_bytes = 0;
  std::optional<KernelFault> fault;
  bool cancelling = false;  // a fault stopped the block: suspended threads unwind when resumed
  ~BlockRun() {
    for (SharedBlock& s : shared) std::free(s.memory);
  }
  unsigned lanes_of(int warp) const {
    const int n = int(threads.size()) - warp * 32;
    return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
  }
};

thread_local BlockRun* current_block = nullptr;
thread_local ThreadSlot* current_thread = nullptr;

std::string format3(const char* label, unsigned x, unsigned y, unsigned z) {
  return std::string(label) + " (" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}


std::string thread_text(const ThreadSlot& t) {
  const ThreadCoordinates& c = t.coordinates;
  return format3("block", c.block_idx.x, c.block_idx.y, c.block_idx.z) + ", " +
         format3("thread", c.thread_idx.x, c.thread_idx.y, c.thread_idx.z);
}

[[noreturn]] void raise_fault(cudaError_t code, const std::string& what, std::source_location where) {
  KernelFault fault;
  fault.code = code;
  fault.message = "kernel " + current_block->launch->kernel + ", " + thread_text(*current_thread) + ", at " +
                  source_place(where) + ": " + what;
  throw FaultSignal{fault};
}

void suspend(State state, std::source_location where) {
  ThreadSlot& me = *current_thread;
  me.state = state;
  me.site = where;
  void* fake_stack = nullptr;
  before_switch(&fake_stack, scheduler_stack_bottom, scheduler_stack_size);
  me.scheduler = std::move(me.scheduler).resume();
  after_switch(fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
  // Resumed by the scheduler: it set current_thread and current_coordinates to us again.
  if (current_block->cancelling) throw CancelSignal{};
}

// Switches from the scheduler to thread t until it suspends or ends.
void resume_thread(ThreadSlot& t) {
  void* fake_stack = nullptr;
  before_switch(&fake_stack, t.stack_bottom, t.stack_size);
  t.fiber = std::move(t.fiber).resume();
  after_switch(fake_stack, nullptr, nullptr);
}

// Arrives at warp operation `me.warp_ops`; returns the exchange once every lane of the mask has arrived.
WarpExchange& warp_arrive(unsigned mask, uint64_t value, std::source_location where) {
  BlockRun& block = *current_block;
  ThreadSlot& me = *current_thread;
  const int warp = me.linear / 32, lane = me.linear % 32;
  const unsigned bit = 1u << lane;
  if ((mask & bit) == 0) {
    raise_fault(cudaErrorIllegalInstruction,
                "a warp operation with mask 0x" + [&] { std::ostringstream s; s << std::hex << mask; return s.str(); }() +
                    " called by lane " + std::to_string(lane) + ", which is not in the mask",
                where);
  }
  WarpExchange& ex = block.warps[size_t(warp) * 2 + size_t(me.warp_ops & 1)];
  if (ex.arrived == 0) {
    ex.mask = mask;
    ex.site = where;
  } else if (ex.mask != mask) {
    raise_fault(cudaErrorIllegalInstruction,
                "lanes of warp " + std::to_string(warp) + " reached warp operations with different masks (here and at " +
                    source_place(ex.site) + ")",
                where);
  }
  ex.value[lane] = value;
  ex.arrived |= bit;
  const unsigned expected = mask & block.lanes_of(warp);
  if ((ex.arrived & expected) == expected) {
    ex.arrived = 0;  // complete: wake the lanes waiting on it (their values stay until the exchange after next)
    for (int l = 0; l < 32; ++l) {
      if ((expected >> l & 1u) == 0 || l == lane) continue;
      ThreadSlot& other = block.threads[size_t(warp) * 32 + size_t(l)];
      if (other.state == State::kAtWarpOp) other.state = State::kRunnable;
    }
  } else {
    suspend(State::kAtWarpOp, where);
  }
  ++me.warp_ops;
  return ex;
}

}  // namespace

uint64_t warp_exchange(unsigned mask, uint64_t value, int source_lane, std::source_location where) {
  WarpExchange& ex = warp_arrive(mask, value, where);
  if (source_lane < 0) return value;
  const int warp = current_thread->linear / 32;
  if (source_lane >= 32 || ((mask & current_block->lanes_of(warp)) >> source_lane & 1u) == 0) {
    raise_fault(cudaErrorIllegalInstruction,
                "a shuffle reads lane " + std::to_string(source_lane) + ", which is not in the mask (undefined on a GPU)",
                where);
  }
  return ex.value[source_lane];
}

unsigned warp_ballot(unsigned mask, bool predicate, std::source_location where) {
  WarpExchange& ex = warp_arrive(mask, predicate ? 1 : 0, where);
  const unsigned expected = mask & current_block->lanes_of(current_thread->linear / 32);
  unsigned votes = 0;
  for (int l = 0; l < 32; ++l) {
    if ((expected >> l & 1u) && ex.value[l] != 0) votes |= 1u << l;
  }
  return votes;
}

void block_barrier(std::source_location where) { suspend(State::kAtBarrier, where); }

void kernel_fault(const char* what, std::source_location where) {
  raise_fault(cudaErrorLaunchFailure, what, where);
}

void check_alignment(const void* p, size_t alignment, std::source_location where) {
  if ((reinterpret_cast<uintptr_t>(p) & (alignment - 1)) == 0) return;
  std::ostringstream text;
  text << "a " << alignment << "-byte vector access at " << p << ", which is not " << alignment << "-byte aligned";
  raise_fault(cudaErrorMisalignedAddress, text.str(), where);
}

void* block_shared_bytes(size_t bytes, size_t alignment, std::source_location where) {
  BlockRun& block = *current_block;
  for (const SharedBlock& s : block.shared) {
    if (s.line == where.line() && s.column == where.column() && std::strcmp(s.file, where.file_name()) == 0) {
      return s.memory;
    }
  }
  if (block.shared_bytes + bytes > kStaticSharedLimit) {
    raise_fault(cudaErrorLaunchOutOfResources,
                "the block's static shared memory would be " + std::to_string(block.shared_bytes + bytes) +
                    " bytes, over the " + std::to_string(kStaticSharedLimit) + " a block may declare statically",
                where);
  }
  void* memory = nullptr;
  if (posix_memalign(&memory, alignment, bytes == 0 ? 1 : bytes) != 0) throw std::bad_alloc();
  std::memset(memory, 0xFF, bytes);  // uninitialised shared memory reads as NaN
  block.shared.push_back({where.file_name(), where.line(), where.column(), memory});
  block.shared_bytes += bytes;
  return memory;
}

std::string kernel_name_from(const std::string& pretty_function) {
  const size_t begin = pretty_function.find("Kernel = ");
  if (begin == std::string::npos) return pretty_function;
  std::string name = pretty_function.substr(begin + 9);
  const size_t end = name.find_first_of(";]");  // "]" ends GCC's list, ";" starts the next parameter
  if (end != std::string::npos) name = name.substr(0, end);
  if (name.rfind("& ", 0) == 0) name = name.substr(2);
  return name;
}

std::string source_place(const std::source_location& where) {
  std::string file = where.file_name();
  for (const char* root : {"kernels/", "engine/", "tests/", "io/"}) {
    const size_t cut = file.rfind(root);
    if (cut != std::string::npos && (cut == 0 || file[cut - 1] == '/')) {
      file = file.substr(cut);
      break;
    }
  }
  return file + ":" + std::to_string(where.line());
}

std::string describe_running_thread() {
  if (current_block == nullptr || current_thread == nullptr) return "";
  return "kernel " + current_block->launch->kernel + ", " + thread_text(*current_thread);
}

namespace {

std::string waiting_summary(const BlockRun& block, State state) {
  std::map<std::string, int> sites;
  for (const ThreadSlot& t : block.threads) {
    if (t.state == state) ++sites[source_place(t.site)];
  }
  std::string text;
  for (const auto& [site, count] : sites) {
    text += (text.empty() ? "" : ", ") + std::to_string(count) + " at " + site;
  }
  return text;
}

// Why no thread of the block can run although not all are done, or "" when a barrier may release.
std::string stuck_reason(const BlockRun& block) {
  int done = 0, at_barrier = 0, at_warp = 0;
  const ThreadSlot* first_done = nullptr;
  std::string barrier_site;
  bool several_sites = false;
  for (const ThreadSlot& t : block.threads) {
    if (t.state == State::kDone) {
      ++done;
      if (first_done == nullptr) first_done = &t;
    } else if (t.state == State::kAtBarrier) {
      ++at_barrier;
      const std::string site = source_place(t.site);
      if (barrier_site.empty()) barrier_site = site;
      else if (site != barrier_site) several_sites = true;
    } else if (t.state == State::kAtWarpOp) {
      ++at_warp;
    }
  }
  const std::string total = std::to_string(block.threads.size());
  if (at_warp > 0) {
    return "a warp operation is waiting for lanes that never reach it (" + waiting_summary(block, State::kAtWarpOp) +
           "; " + std::to_string(at_barrier) + " threads at a barrier, " + std::to_string(done) + " finished)";
  }
  if (done > 0) {
    const ThreadCoordinates& c = first_done->coordinates;
    return "__syncthreads() reached by only " + std::to_string(at_barrier) + " of the block's " + total +
           " threads (" + waiting_summary(block, State::kAtBarrier) + "); " + std::to_string(done) +
           " returned without it, " + format3("thread", c.thread_idx.x, c.thread_idx.y, c.thread_idx.z) +
           " first: undefined on a GPU (it may hang or skip the barrier)";
  }
  if (several_sites) {
    return "the block's threads wait at different __syncthreads() calls (" +
           waiting_summary(block, State::kAtBarrier) + "): undefined on a GPU";
  }
  return "";
}

void run_block(BlockRun& block, dim3 block_idx, const RunnerConfig& config, uint64_t block_seed) {
  const LaunchRequest& launch = *block.launch;
  const dim3 bd = launch.block;
  const size_t n = size_t(bd.x) * bd.y * bd.z;
  block.threads.clear();
  block.threads.resize(n);
  block.warps.assign((n + 31) / 32 * 2, WarpExchange{});
  for (SharedBlock& s : block.shared) std::free(s.memory);
  block.shared.clear();
  block.shared_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    ThreadSlot& t = block.threads[i];
    t.linear = int(i);
    t.coordinates.thread_idx = uint3{unsigned(i % bd.x), unsigned(i / bd.x % bd.y), unsigned(i / (size_t(bd.x) * bd.y))};
    t.coordinates.block_idx = uint3{block_idx.x, block_idx.y, block_idx.z};
    t.coordinates.block_dim = bd;
    t.coordinates.grid_dim = launch.grid;
    t.coordinates.lane = int(i % 32);
    ctx::stack_context stack = stack_pool.take();
    t.stack_bottom = static_cast<char*>(stack.sp) - stack.size;
    t.stack_size = stack.size;
    t.fiber = ctx::fiber(std::allocator_arg, ctx::preallocated(stack.sp, stack.size, stack), PooledStack{},
                         [&block, &t](ctx::fiber&& scheduler) {
      after_switch(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
      t.scheduler = std::move(scheduler);
      try {
        if (!block.cancelling) block.launch->run_thread();  // a thread not started before the fault never starts
      } catch (FaultSignal& signal) {
        if (!block.fault) block.fault = signal.fault;
      } catch (CancelSignal&) {
      } catch (std::exception& e) {
        if (!block.fault) block.fault = KernelFault{cudaErrorLaunchFailure, "kernel " + block.launch->kernel + ", " +
                                                    thread_text(t) + ": " + e.what()};
      }
      t.state = State::kDone;
      before_switch(nullptr, scheduler_stack_bottom, scheduler_stack_size);  // this fiber ends
      return std::move(t.scheduler);
    });
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::mt19937_64 rng(block_seed);
  auto reorder = [&] {
    if (config.schedule == Schedule::kReverse) std::reverse(order.begin(), order.end());
    if (config.schedule == Schedule::kRandom) std::shuffle(order.begin(), order.end(), rng);
  };
  if (config.schedule != Schedule::kForward) reorder();
  current_block = &block;
  for (;;) {
    bool ran = false;
    for (size_t i : order) {
      ThreadSlot& t = block.threads[i];
      if (t.state != State::kRunnable) continue;
      current_thread = &t;
      current_coordinates = &t.coordinates;
      resume_thread(t);
      ran = true;
      if (block.fault) break;
    }
    if (block.fault) break;
    if (ran) continue;  // a warp operation may have woken lanes earlier in the order
    const bool all_done =
        std::all_of(block.threads.begin(), block.threads.end(), [](const ThreadSlot& t) { return t.state == State::kDone; });
    if (all_done) break;
    const std::string stuck = stuck_reason(block);
    if (!stuck.empty()) {
      block.fault = KernelFault{cudaErrorLaunchFailure,
                                "kernel " + launch.kernel + ", " + format3("block", block_idx.x, block_idx.y, block_idx.z) +
                                    ": " + stuck};
      break;
    }
    for (ThreadSlot& t : block.threads) {
      if (t.state == State::kAtBarrier) t.state = State::kRunnable;  // the barrier releases
    }
    if (config.schedule == Schedule::kRandom) reorder();
  }
  // After a fault, the threads still suspended unwind (CancelSignal from their barrier or warp operation).
  block.cancelling = block.fault.has_value();
  for (ThreadSlot& t : block.threads) {
    if (t.state == State::kDone || !t.fiber) continue;
    current_thread = &t;
    current_coordinates = &t.coordinates;
    resume_thread(t);
  }
  block.cancelling = false;
  current_thread = nullptr;
  current_coordinates = nullptr;
  current_block = nullptr;
  block.threads.clear();
}

}  // namespace

std::optional<KernelFault> run_grid(const LaunchRequest& launch, const RunnerConfig& config, uint64_t launch_number) {
  const uint64_t blocks = uint64_t(launch.grid.x) * launch.grid.y * launch.grid.z;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex fault_mutex;
  std::optional<KernelFault> first_fault;
  auto work = [&] {
    BlockRun block;
    block.launch = &launch;
    for (;;) {
      if (stop.load()) return;
      const uint64_t b = next.fetch_add(1);
      if (b >= blocks) return;
      const dim3 idx(unsigned(b % launch.grid.x), unsigned(b / launch.grid.x % launch.grid.y),
                     unsigned(b / (uint64_t(launch.grid.x) * launch.grid.y)));
      run_block(block, idx, config, config.seed * 0x9E3779B97F4A7C15ull + launch_number * 1000003ull + b);
      if (block.fault) {
        std::lock_guard<std::mutex> lock(fault_mutex);
        if (!first_fault) first_fault = block.fault;
        stop = true;
        return;
      }
    }
  };
  const int helpers = int(std::min<uint64_t>(uint64_t(std::max(config.host_threads, 1)), blocks)) - 1;
  std::vector<std::thread> pool;
  for (int h = 0; h < helpers; ++h) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return first_fault;
}

}  // namespace cuda_emu
