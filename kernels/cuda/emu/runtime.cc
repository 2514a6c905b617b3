// The emulated CUDA runtime (see runtime.h): device memory, streams, events, copies, launches, errors.
#include "kernels/cuda/emu/runtime.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cuda/emu/block_runner.h"
#include "kernels/cuda/emu/happens_before.h"
#include "kernels/cuda/emu/launch.h"

#if defined(__SANITIZE_ADDRESS__)
#define FCN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FCN_EMU_ASAN 1
#endif
#endif

namespace cuda_emu {

struct Stream {
  int agent = 0;
  bool blocking = true;  // waits for / is waited on by the null stream
  std::string name;
  std::mutex mutex;
  std::condition_variable work_ready, work_done;
  std::deque<std::function<void()>> queue;
  uint64_t enqueued = 0, completed = 0;
  bool stopping = false;
  VectorClock clock;  // guarded by the device mutex
  std::mt19937_64 rng;
  std::thread thread;
};

struct Event {
  unsigned flags = 0;
  Stream* stream = nullptr;  // of the last record; null before the first
  uint64_t sequence = 0;     // the record's place in that stream's queue
  VectorClock clock;
  std::chrono::steady_clock::time_point time;
};

namespace {

using Clock = std::chrono::steady_clock;


std::string hex(const void* p) {
  std::ostringstream text;
  text << p;
  return text.str();
}

int env_int(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == 0) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != 0 || value < 0 || value > 1 << 20) {
    std::fprintf(stderr, "fcn: emulated device: ignoring %s='%s' (want a non-negative integer)\n", name, text);
    return fallback;
  }
  return int(value);
}

struct Allocation {
  uintptr_t base = 0;
  size_t bytes = 0;
  bool pinned = false;
  void* mapping = nullptr;  // the whole guarded mapping (null under ASan and for pinned memory)
  size_t mapping_bytes = 0;
  std::string where;        // "cudaMalloc at engine/cuda/cuda_backend.cu:123"
};

class Device {
 public:
  Device() {
    config_.host_threads = env_int("FCN_EMU_THREADS", int(std::max(1u, std::thread::hardware_concurrency())));
    config_.seed = uint64_t(env_int("FCN_EMU_SEED", 1));
    max_delay_us_ = env_int("FCN_EMU_DELAY_US", 30);
    const char* schedule = std::getenv("FCN_EMU_SCHEDULE");
    if (schedule != nullptr && std::strcmp(schedule, "forward") == 0) config_.schedule = Schedule::kForward;
    if (schedule != nullptr && std::strcmp(schedule, "reverse") == 0) config_.schedule = Schedule::kReverse;
    if (const char* log = std::getenv("FCN_EMU_KERNEL_LOG")) kernel_log_path_ = log;
    page_ = size_t(sysconf(_SC_PAGESIZE));
    null_stream_ = make_stream(true, "");
#if !defined(FCN_EMU_ASAN)  // under AddressSanitizer its own reports cover out-of-bounds accesses
    install_fault_handler();
#endif
  }

  static Device& get() {
    static Device* device = new Device();  // never destroyed: stream threads may outlive static destructors
    return *device;
  }

  // ---- errors ----
  cudaError_t fail(cudaError_t code, const std::string& detail) {
    last_error_ = code;
    detail_code_ = code;
    detail_ = detail;
    return code;
  }
  cudaError_t sticky() {
    std::lock_guard<std::mutex> lock(sticky_mutex_);
    if (sticky_code_ != cudaSuccess) return fail(sticky_code_, sticky_message_);
    return cudaSuccess;
  }
  // cudaDeviceReset: a fault's sticky error is cleared (the allocations stay: the emulator keeps no
  // context to destroy), so that a test can go on after checking one.
  void reset() {
    synchronize_all();
    std::lock_guard<std::mutex> lock(sticky_mutex_);
    sticky_code_ = cudaSuccess;
    sticky_message_.clear();
    last_error_ = cudaSuccess;
  }
  void set_sticky(cudaError_t code, const std::string& message) {
    std::lock_guard<std::mutex> lock(sticky_mutex_);
    if (sticky_code_ != cudaSuccess) return;
    sticky_code_ = code;
    sticky_message_ = message;
    std::fprintf(stderr, "fcn: emulated device: %s\n", message.c_str());
  }
  static thread_local cudaError_t last_error_;
  static thread_local cudaError_t detail_code_;
  static thread_local std::string detail_;

  // ---- memory ----
  cudaError_t allocate(void** ptr, size_t bytes, bool pinned, const Where& where) {
    if (ptr == nullptr) return fail(cudaErrorInvalidValue, "a null pointer to store the allocation in");
    *ptr = nullptr;
    if (cudaError_t e = sticky()) return e;
    Allocation a;
    a.bytes = bytes;
    a.pinned = pinned;
    a.where = std::string(pinned ? "cudaHostAlloc" : "cudaMalloc") + " at " + source_place(where);
    const size_t rounded = std::max<size_t>((bytes + 255) / 256 * 256, 256);
#if defined(FCN_EMU_ASAN)
    void* p = nullptr;  // exact size: AddressSanitizer's redzones catch any access past it
    if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) p = nullptr;
    a.base = reinterpret_cast<uintptr_t>(p);
#else
    if (pinned) {
      void* p = nullptr;
      if (posix_memalign(&p, 256, rounded) != 0) p = nullptr;
      a.base = reinterpret_cast<uintptr_t>(p);
    } else {
      // [guard page][slack][data, ending at most 15 bytes before the page boundary][guard page]: 16-byte
      // aligned (cudaMalloc gives 256, but every vector access here needs only 16), so that a first access
      // past the end of an allocation whose size is a multiple of 16 bytes faults.
      const size_t data_pages = (rounded + page_ - 1) / page_;
      a.mapping_bytes = (data_pages + 2) * page_;
      void* m = mmap(nullptr, a.mapping_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m == MAP_FAILED) {
        a.base = 0;
      } else {
        char* data_end = static_cast<char*>(m) + (data_pages + 1) * page_;
        if (mprotect(static_cast<char*>(m) + page_, data_pages * page_, PROT_READ | PROT_WRITE) != 0) {
          munmap(m, a.mapping_bytes);
        } else {
          a.mapping = m;
          a.base = (reinterpret_cast<uintptr_t>(data_end) - std::max<size_t>(bytes, 1)) & ~uintptr_t(15);
        }
      }
    }
#endif
    if (a.base == 0) {
      return fail(cudaErrorMemoryAllocation, "could not reserve " + std::to_string(bytes) + " bytes of host memory for " + a.where);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    allocations_[a.base] = a;
    *ptr = reinterpret_cast<void*>(a.base);
    return cudaSuccess;
  }

  cudaError_t release(void* ptr, bool pinned, const Where& where) {
    if (ptr == nullptr) return cudaSuccess;
    synchronize_all();  // cudaFree synchronizes the device
    Allocation a;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = allocations_.find(reinterpret_cast<uintptr_t>(ptr));
      if (it == allocations_.end() || it->second.pinned != pinned) {
        return fail(cudaErrorInvalidValue, std::string(pinned ? "cudaFreeHost" : "cudaFree") + " at " + source_place(where) +
                                               " of " + hex(ptr) + ", which is not the start of a live " +
                                               (pinned ? "cudaHostAlloc" : "cudaMalloc") + " allocation");
      }
      a = it->second;
      allocations_.erase(it);
      log_.forget(a.base);
    }
    if (a.mapping != nullptr) munmap(a.mapping, a.mapping_bytes);
    else std::free(reinterpret_cast<void*>(a.base));
    return cudaSuccess;
  }

  // The allocation holding [p, p + bytes), or null. Caller holds mutex_.
  const Allocation* find(const void* p, size_t bytes = 0) const {
    const uintptr_t address = reinterpret_cast<uintptr_t>(p);
    auto it = allocations_.upper_bound(address);
    if (it == allocations_.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    if (address < a.base || address > a.base + a.bytes || bytes > a.base + a.bytes - address) return nullptr;
    return &a;
  }

  // ---- streams ----
  // created_at: where cudaStreamCreate* was called, or "" for the null stream.
  Stream* make_stream(bool blocking, const std::string& created_at) {
    auto* s = new Stream();
    s->blocking = blocking;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s->agent = next_agent_++;
      streams_.push_back(s);
    }
    s->name = created_at.empty() ? "the null stream"
                                 : "stream " + std::to_string(s->agent) + " (created at " + created_at + ")";
    s->rng.seed(config_.seed * 7919u + uint64_t(s->agent));
    s->thread = std::thread([this, s] { stream_loop(*s); });
    return s;
  }

  void destroy_stream(Stream* s) {
    wait_for(*s, UINT64_MAX);
    {
      std::lock_guard<std::mutex> lock(s->mutex);
      s->stopping = true;
    }
    s->work_ready.notify_all();
    s->thread.join();
    std::lock_guard<std::mutex> lock(mutex_);
    streams_.erase(std::find(streams_.begin(), streams_.end(), s));
    delete s;
  }

  Stream* resolve(cudaStream_t stream) { return stream == nullptr ? null_stream_ : stream; }

  bool is_stream(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    return stream == nullptr || std::find(streams_.begin(), streams_.end(), stream) != streams_.end();
  }

  // Queues `run` on stream s after checking `accesses`; what = "kernel X" / "cudaMemcpyAsync at ...".
  struct Access {
    const void* pointer;
    size_t bytes;  // SIZE_MAX: to the end of the allocation
    bool write;
    int argument;  // kernel parameter, or -1
  };
  cudaError_t enqueue(Stream* s, const std::string& what, const std::vector<Access>& accesses,
                      std::function<void()> run, Event* record = nullptr) {
    if (cudaError_t e = sticky()) return e;
    std::vector<std::function<void()>> waits;
    std::unique_lock<std::mutex> lock(mutex_);
    // Legacy null-stream semantics against the blocking streams.
    if (s == null_stream_) {
      for (Stream* other : streams_) {
        if (other != s && other->blocking) waits.push_back(order_after(*s, *other));
      }
    } else if (s->blocking) {
      waits.push_back(order_after(*s, *null_stream_));
    }
    s->clock.join(host_clock_);
    s->clock.tick(s->agent);
    const std::string who = what + " on " + s->name;
    for (const Access& a : accesses) {
      const Allocation* alloc = find(a.pointer, a.bytes == SIZE_MAX ? 0 : a.bytes);
      if (alloc == nullptr) {
        const std::string arg = a.argument >= 0 ? "parameter " + std::to_string(a.argument) + " (" + hex(a.pointer) + ")"
                                                : hex(a.pointer);
        const std::string message =
            who + ": " + arg + (a.bytes == SIZE_MAX || a.bytes == 0 ? "" : " + " + std::to_string(a.bytes) + " bytes") +
            " is not inside any live cudaMalloc or cudaHostAlloc allocation (host memory, freed memory, or past "
            "an allocation's end); a GPU would fault or read garbage there";
        return fail(a.argument >= 0 ? cudaErrorIllegalAddress : cudaErrorInvalidValue, message);
      }
      AccessLog::Access access;
      access.begin = reinterpret_cast<uintptr_t>(a.pointer);
      access.end = a.bytes == SIZE_MAX ? alloc->base + alloc->bytes : access.begin + a.bytes;
      if (access.end == access.begin) continue;
      access.write = a.write;
      access.agent = s->agent;
      access.tick = s->clock.at(s->agent);
      access.what = who;
      if (auto conflict = log_.record(alloc->base, access, s->clock)) {
        const std::string message = *conflict + " [allocation: " + std::to_string(alloc->bytes) + " bytes, " + alloc->where + "]";
        lock.unlock();
        set_sticky(cudaErrorUnorderedAccess, message);
        return fail(cudaErrorUnorderedAccess, message);
      }
    }
    if (record != nullptr) {
      record->stream = s;
      record->clock = s->clock;
    }
    std::lock_guard<std::mutex> queue_lock(s->mutex);
    for (auto& w : waits) s->queue.push_back(std::move(w));
    s->enqueued += waits.size();
    s->queue.push_back(std::move(run));
    const uint64_t sequence = ++s->enqueued;
    if (record != nullptr) record->sequence = sequence;
    s->work_ready.notify_one();
    return cudaSuccess;
  }

  // A queue entry for s that waits until everything queued on `other` so far has run; s's clock joins
  // other's. Caller holds mutex_.
  std::function<void()> order_after(Stream& s, Stream& other) {
    s.clock.join(other.clock);
    uint64_t target;
    {
      std::lock_guard<std::mutex> lock(other.mutex);
      target = other.enqueued;
    }
    return [this, &other, target] { wait_for(other, target); };
  }

  // Blocks until `s` has run its first `target` entries (UINT64_MAX: all queued now).
  void wait_for(Stream& s, uint64_t target) {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (target == UINT64_MAX) target = s.enqueued;
    s.work_done.wait(lock, [&] { return s.completed >= target; });
  }

  cudaError_t synchronize(Stream* s) {
    VectorClock clock;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      clock = s->clock;
    }
    wait_for(*s, UINT64_MAX);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      host_clock_.join(clock);
    }
    return sticky();
  }

  cudaError_t synchronize_all() {
    std::vector<Stream*> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all = streams_;
    }
    for (Stream* s : all) synchronize(s);
    return sticky();
  }

  cudaError_t wait_event(Stream* s, Event* e) {
    if (cudaError_t err = sticky()) return err;
    std::unique_lock<std::mutex> lock(mutex_);
    if (e->stream == nullptr) return cudaSuccess;  // never recorded: complete
    s->clock.join(e->clock);
    Stream* source = e->stream;
    const uint64_t target = e->sequence;
    std::lock_guard<std::mutex> queue_lock(s->mutex);
    s->queue.push_back([this, source, target] { wait_for(*source, target); });
    ++s->enqueued;
    s->work_ready.notify_one();
    return cudaSuccess;
  }

  cudaError_t synchronize_event(Event* e) {
    Stream* source;
    uint64_t target;
    VectorClock clock;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      source = e->stream;
      target = e->sequence;
      clock = e->clock;
    }
    if (source == nullptr) return cudaSuccess;
    wait_for(*source, target);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      host_clock_.join(clock);
    }
    return sticky();
  }

  bool event_complete(Event* e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (e->stream == nullptr) return true;
    std::lock_guard<std::mutex> queue_lock(e->stream->mutex);
    return e->stream->completed >= e->sequence;
  }

  cudaError_t launch(LaunchRequest&& request) {
    const dim3 g = request.grid, b = request.block;
    const uint64_t threads = uint64_t(b.x) * b.y * b.z;
    auto bad = [&](const std::string& why) {
      return fail(cudaErrorInvalidConfiguration, "launch of kernel " + request.kernel + " with grid (" + std::to_string(g.x) +
                                                     "," + std::to_string(g.y) + "," + std::to_string(g.z) + ") and block (" +
                                                     std::to_string(b.x) + "," + std::to_string(b.y) + "," +
                                                     std::to_string(b.z) + "): " + why);
    };
    if (threads == 0 || g.x == 0 || g.y == 0 || g.z == 0) return bad("a dimension is 0");
    if (threads > 1024) return bad("the block has " + std::to_string(threads) + " threads, over the 1024 a block may have");
    if (b.x > 1024 || b.y > 1024 || b.z > 64) return bad("a block dimension is over its limit (1024, 1024, 64)");
    if (g.x > 2147483647u || g.y > 65535u || g.z > 65535u) {
      return bad("a grid dimension is over its limit (2^31-1, 65535, 65535)");
    }
    if (request.dynamic_shared_bytes > (48u << 10)) {
      return bad(std::to_string(request.dynamic_shared_bytes) + " bytes of dynamic shared memory, over the 48 KiB "
                 "allowed without cudaFuncSetAttribute");
    }
    if (!is_stream(request.stream)) return fail(cudaErrorInvalidResourceHandle, "launch of kernel " + request.kernel + " on a destroyed stream");
    std::vector<Access> accesses;
    for (const BufferUse& use : request.buffers) accesses.push_back({use.pointer, SIZE_MAX, use.writes, use.argument});
    note_kernel(request.kernel);
    const uint64_t number = ++launches_;
    auto shared_request = std::make_shared<LaunchRequest>(std::move(request));
    const std::string what = "kernel " + shared_request->kernel;
    return enqueue(resolve(shared_request->stream), what, accesses, [this, shared_request, number] {
      if (sticky_code_ != cudaSuccess) return;  // the context is lost after a fault: nothing more runs
      if (auto fault = run_grid(*shared_request, config_, number)) set_sticky(fault->code, fault->message);
    });
  }

  // With FCN_EMU_KERNEL_LOG=FILE, each kernel's name is appended to FILE on its first launch (the
  // emulation coverage test reads it).
  void note_kernel(const std::string& kernel) {
    if (kernel_log_path_.empty()) return;
    std::lock_guard<std::mutex> lock(kernel_log_mutex_);
    if (!kernels_logged_.insert(kernel).second) return;
    if (FILE* f = std::fopen(kernel_log_path_.c_str(), "a")) {
      std::fprintf(f, "%s\n", kernel.c_str());
      std::fclose(f);
    }
  }

  void stream_loop(Stream& s) {
    for (;;) {
      std::function<void()> run;
      {
        std::unique_lock<std::mutex> lock(s.mutex);
        s.work_ready.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
        if (s.queue.empty()) return;
        run = std::move(s.queue.front());
        s.queue.pop_front();
      }
      // A small random delay, so that what another stream does meanwhile really varies from run to run.
      if (max_delay_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(s.rng() % uint64_t(max_delay_us_ + 1)));
      try {
        run();
      } catch (const std::exception& e) {
        set_sticky(cudaErrorLaunchFailure, std::string("an operation on ") + s.name + " failed: " + e.what());
      }
      {
        std::lock_guard<std::mutex> lock(s.mutex);
        ++s.completed;
      }
      s.work_done.notify_all();
    }
  }

  // ---- guard pages: an access past an allocation faults there ----
  void install_fault_handler() {
    struct sigaction action {};
    action.sa_sigaction = &Device::on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_segv_);
  }

  static void on_fault(int signal, siginfo_t* info, void* context) {
    Device& d = get();
    const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
    std::string message;
    if (d.mutex_.try_lock()) {
      for (const auto& [base, a] : d.allocations_) {
        if (a.mapping == nullptr) continue;
        const uintptr_t begin = reinterpret_cast<uintptr_t>(a.mapping), end = begin + a.mapping_bytes;
        if (address < begin || address >= end) continue;
        std::ostringstream text;
        if (address >= base + a.bytes) text << (address - base - a.bytes) << " bytes past the end of ";
        else text << (base - address) << " bytes before the start of ";
        text << "the " << a.bytes << "-byte allocation at 0x" << std::hex << base << std::dec << " (" << a.where << ")";
        message = text.str();
        break;
      }
      d.mutex_.unlock();
    }
    if (message.empty()) {  // not ours: let the previous handler (or the default action) have it
      sigaction(SIGSEGV, &d.previous_segv_, nullptr);
      return;
    }
    const std::string running = describe_running_thread();
    const std::string text = "fcn: emulated device: out-of-bounds access in " + (running.empty() ? std::string("a copy") : running) +
                             ": address " + hex(info->si_addr) + " is " + message +
                             "\nHINT: on a GPU this is cudaErrorIllegalAddress; check the kernel's index arithmetic and "
                             "bounds tests\n";
    ssize_t ignored = write(2, text.data(), text.size());
    (void)ignored;
    _exit(134);
  }

  RunnerConfig config_;
  std::string kernel_log_path_;
  std::mutex kernel_log_mutex_;
  std::set<std::string> kernels_logged_;
  int max_delay_us_ = 30;
  size_t page_ = 4096;
  std::mutex mutex_;  // allocations_, streams_, clocks, log_
  std::map<uintptr_t, Allocation> allocations_;
  std::vector<Stream*> streams_;
  int next_agent_ = 1;  // 0 is the host
  VectorClock host_clock_;
  AccessLog log_;
  Stream* null_stream_ = nullptr;
  std::atomic<uint64_t> launches_{0};
  std::mutex sticky_mutex_;
  std::atomic<cudaError_t> sticky_code_{cudaSuccess};
  std::string sticky_message_;
  struct sigaction previous_segv_ {};
};

thread_local cudaError_t Device::last_error_ = cudaSuccess;
thread_local cudaError_t Device::detail_code_ = cudaSuccess;
thread_local std::string Device::detail_;

Device& device() { return Device::get(); }

cudaError_t check_device(int d) {
  if (d != 0) return device().fail(cudaErrorInvalidDevice, "the emulator has one device, 0; asked for " + std::to_string(d));
  return cudaSuccess;
}

bool is_device_kind(cudaMemcpyKind kind, bool destination) {
  if (kind == cudaMemcpyDeviceToDevice) return true;
  return destination ? kind == cudaMemcpyHostToDevice : kind == cudaMemcpyDeviceToHost;
}

}  // namespace

// ---- device and errors ----
cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  device();
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return check_device(d); }
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* props, int d) {
  if (cudaError_t e = check_device(d)) return e;
  *props = cudaDeviceProp{};
  std::snprintf(props->name, sizeof(props->name), "fcn.cu emulated device (CPU, %d host threads)",
                device().config_.host_threads);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  props->totalGlobalMem = size_t(pages) * size_t(page);
  props->sharedMemPerBlock = 48u << 10;
  props->sharedMemPerBlockOptin = 227u << 10;
  props->sharedMemPerMultiprocessor = 228u << 10;
  props->regsPerBlock = 65536;
  props->maxThreadsPerBlock = 1024;
  props->maxThreadsDim[0] = 1024, props->maxThreadsDim[1] = 1024, props->maxThreadsDim[2] = 64;
  props->maxGridSize[0] = 2147483647, props->maxGridSize[1] = 65535, props->maxGridSize[2] = 65535;
  props->major = 9, props->minor = 0;  // the sm_90 limits above
  props->multiProcessorCount = device().config_.host_threads;
  props->maxThreadsPerMultiProcessor = 2048;
  props->l2CacheSize = 0;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* version) {
  *version = 12080;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 12080;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  const long page = sysconf(_SC_PAGESIZE);
  *total_bytes = size_t(sysconf(_SC_PHYS_PAGES)) * size_t(page);
  *free_bytes = size_t(sysconf(_SC_AVPHYS_PAGES)) * size_t(page);
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(Where) { return device().synchronize_all(); }
cudaError_t cudaDeviceReset() {
  device().reset();
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = Device::last_error_;
  Device::last_error_ = cudaSuccess;
  if (e != cudaSuccess) return e;
  return device().sticky();
}
cudaError_t cudaPeekAtLastError() { return Device::last_error_ != cudaSuccess ? Device::last_error_ : device().sticky(); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorNoKernelImageForDevice: return "cudaErrorNoKernelImageForDevice";
    case cudaErrorInvalidKernelImage: return "cudaErrorInvalidKernelImage";
    case cudaErrorUnsupportedPtxVersion: return "cudaErrorUnsupportedPtxVersion";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
    case cudaErrorIllegalInstruction: return "cudaErrorIllegalInstruction";
    case cudaErrorUnorderedAccess: return "cudaErrorUnorderedAccess";
  }
  return "unknown cudaError_t";
}

namespace {
const char* base_error_text(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorUnorderedAccess: return "unordered access to device memory across streams";
    default: return cudaGetErrorName(error);
  }
}
}  // namespace

// The text names what the emulator found when it has details for this error on this thread.
const char* cudaGetErrorString(cudaError_t error) {
  thread_local std::string text;
  text = base_error_text(error);
  if (error != cudaSuccess && Device::detail_code_ == error && !Device::detail_.empty()) {
    text += " (emulated device: " + Device::detail_ + ")";
  }
  return text.c_str();
}

// ---- memory ----
cudaError_t cudaMalloc(void** ptr, size_t bytes, Where where) { return device().allocate(ptr, bytes, false, where); }
cudaError_t cudaFree(void* ptr, Where where) { return device().release(ptr, false, where); }
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned, Where where) { return device().allocate(ptr, bytes, true, where); }
cudaError_t cudaMallocHost(void** ptr, size_t bytes, Where where) { return device().allocate(ptr, bytes, true, where); }
cudaError_t cudaFreeHost(void* ptr, Where where) { return device().release(ptr, true, where); }

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream, Where where) {
  Device& d = device();
  if (bytes == 0) return d.sticky();
  if (dst == nullptr || src == nullptr) return d.fail(cudaErrorInvalidValue, "cudaMemcpyAsync at " + source_place(where) + " with a null pointer");
  if (!d.is_stream(stream)) return d.fail(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync at " + source_place(where) + " on a destroyed stream");
  Stream* s = d.resolve(stream);
  std::vector<Device::Access> accesses;
  bool src_registered, dst_registered;
  {
    std::lock_guard<std::mutex> lock(d.mutex_);
    src_registered = d.find(src) != nullptr;
    dst_registered = d.find(dst) != nullptr;
  }
  // Device memory on a device side of the copy must hold all of it; pinned host memory is tracked too.
  if (is_device_kind(kind, true) || dst_registered) accesses.push_back({dst, bytes, true, -1});
  if (is_device_kind(kind, false) || src_registered) accesses.push_back({src, bytes, false, -1});
  const std::string what = "cudaMemcpyAsync at " + source_place(where);
  // Pageable host memory: the copy takes the source at the call (as CUDA stages it) and a copy into
  // pageable memory is complete when the call returns.
  std::shared_ptr<std::vector<unsigned char>> staged;
  if (!src_registered && !is_device_kind(kind, false)) {
    staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                          static_cast<const unsigned char*>(src) + bytes);
  }
  const cudaError_t e = d.enqueue(s, what, accesses, [dst, src, bytes, staged] {
    std::memcpy(dst, staged ? staged->data() : src, bytes);
  });
  if (e != cudaSuccess) return e;
  if (!dst_registered && !is_device_kind(kind, true)) return d.synchronize(s);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, Where where) {
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, nullptr, where);
  if (e != cudaSuccess) return e;
  return device().synchronize(device().resolve(nullptr));
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream, Where where) {
  Device& d = device();
  if (bytes == 0) return d.sticky();
  if (!d.is_stream(stream)) return d.fail(cudaErrorInvalidResourceHandle, "cudaMemsetAsync at " + source_place(where) + " on a destroyed stream");
  return d.enqueue(d.resolve(stream), "cudaMemsetAsync at " + source_place(where), {{ptr, bytes, true, -1}},
                   [ptr, value, bytes] { std::memset(ptr, value, bytes); });
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes, Where where) {
  const cudaError_t e = cudaMemsetAsync(ptr, value, bytes, nullptr, where);
  if (e != cudaSuccess) return e;
  return device().synchronize(device().resolve(nullptr));
}

// ---- streams and events ----
cudaError_t cudaStreamCreate(cudaStream_t* stream, Where where) { return cudaStreamCreateWithFlags(stream, 0, where); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags, Where where) {
  Device& d = device();
  *stream = d.make_stream((flags & cudaStreamNonBlocking) == 0, source_place(where));
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr || !device().is_stream(stream)) return device().fail(cudaErrorInvalidResourceHandle, "cudaStreamDestroy of an unknown stream");
  device().destroy_stream(stream);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream, Where where) {
  Device& d = device();
  if (!d.is_stream(stream)) return d.fail(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize at " + source_place(where) + " of a destroyed stream");
  return d.synchronize(d.resolve(stream));
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  Stream* s = device().resolve(stream);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->completed >= s->enqueued ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned, Where where) {
  Device& d = device();
  if (event == nullptr) return d.fail(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent at " + source_place(where) + " on a null event");
  return d.wait_event(d.resolve(stream), event);
}
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  *event = new Event();
  (*event)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (event == nullptr) return device().fail(cudaErrorInvalidResourceHandle, "cudaEventDestroy of a null event");
  device().synchronize_event(event);  // a queued record still refers to it
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream, Where where) {
  Device& d = device();
  if (event == nullptr) return d.fail(cudaErrorInvalidResourceHandle, "cudaEventRecord at " + source_place(where) + " of a null event");
  if (!d.is_stream(stream)) return d.fail(cudaErrorInvalidResourceHandle, "cudaEventRecord at " + source_place(where) + " on a destroyed stream");
  return d.enqueue(d.resolve(stream), "cudaEventRecord at " + source_place(where), {},
                   [event] { event->time = Clock::now(); }, event);
}
cudaError_t cudaEventSynchronize(cudaEvent_t event, Where where) {
  if (event == nullptr) return device().fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize at " + source_place(where) + " of a null event");
  return device().synchronize_event(event);
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (event == nullptr) return cudaErrorInvalidResourceHandle;
  return device().event_complete(event) ? cudaSuccess : cudaErrorNotReady;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  Device& d = device();
  if (start == nullptr || end == nullptr) return d.fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime of a null event");
  if ((start->flags | end->flags) & cudaEventDisableTiming) {
    return d.fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime of an event made with cudaEventDisableTiming");
  }
  if (start->stream == nullptr || end->stream == nullptr) return d.fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime of an event never recorded");
  if (!d.event_complete(start) || !d.event_complete(end)) return cudaErrorNotReady;
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

cudaError_t enqueue_launch(LaunchRequest&& request) { return device().launch(std::move(request)); }

}  // namespace cuda_emu
