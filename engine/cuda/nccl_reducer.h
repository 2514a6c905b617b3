// The CUDA backend's GradientReducer (engine/dist/gradient_reducer.h) over NCCL: every layer's gradients
// are summed across the ranks in place, on the GPU, on a stream of the reducer's own, while backward goes
// on with the layers before it on the compute stream.
//   reduce_async(grads, count): event "ready" recorded on the compute stream (the layer's gradients are
//     written), the NCCL stream waits on it, ncclAllReduce(sum, float32) in place on the NCCL stream;
//   wait(): event "done" recorded on the NCCL stream, the compute stream waits on it, so the next op on
//     the compute stream (Adam) sees every sum. The host never waits for the GPU here.
// The host does wait, at most timeout_s, in two places: setting up the communicator (every rank must join)
// and, on a non-blocking communicator, while NCCL queues a call (ncclInProgress, normally microseconds).
// A peer that dies or hangs in the middle of a queued sum is seen by NCCL as an asynchronous error (checked
// at every reduce_async); a sum that never completes holds up the compute stream and shows where the host
// next reads a result back (the loss), which this reducer does not bound.
//
// Determinism: for a fixed number of ranks, topology (which GPUs, how they are connected) and NCCL
// version, ncclAllReduce sums in a fixed order (the ring or tree and the chunking NCCL derives from the
// topology and the message size), so runs repeat bit for bit and every rank gets the same bits (the
// ring's all-gather and the tree's broadcast hand every rank the one reduced value). That relies on
// NCCL_ALGO, NCCL_PROTO and the other NCCL_* tuning variables being the same from run to run, and on the
// same build. NCCL does not promise bit-identical results across versions, topologies or rank counts.
//
// One GPU per rank: the communicator lives on the current CUDA device (the backend's); two ranks on one
// GPU are refused by NCCL, so the CUDA backend falls back to the host reducer then (cuda_backend.cu).
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "engine/dist/gradient_reducer.h"

namespace fcn {

class Collectives;

// The NCCL reducer for gradients computed on `compute` (a stream of the current device). Rank 0 makes
// the NCCL id and comm.broadcast()s it; every rank then joins the communicator of comm.size() ranks,
// waiting at most timeout_s for the others (DistTimeout, naming what it waited for).
std::unique_ptr<GradientReducer> make_nccl_gradient_reducer(cudaStream_t compute, Collectives& comm,
                                                           double timeout_s);

// "" when every rank of comm trains on a GPU of its own; otherwise one line naming the ranks that share
// one (by host name and PCI bus id), for which NCCL cannot be used. A collective: every rank calls it.
std::string shared_gpu_note(Collectives& comm, int device);

// reducer, with `note` appended to its describe() ("... (NCCL not used: ranks 0 and 1 share a GPU)").
std::unique_ptr<GradientReducer> with_note(std::unique_ptr<GradientReducer> reducer, const std::string& note);

}  // namespace fcn
