#!/usr/bin/env python3
"""Data-parallel training under mpirun against a single process, on the CPU backend.

Each test case runs `fcn train` (tests/CMakeLists.txt registers one ctest entry per case) on a small
synthetic export made once by the dist_dataset fixture. Ranks are OpenMPI processes on loopback; every
case ends its processes itself (a timeout kills the whole process group).

  python3 tests/dist/test_data_parallel.py --fcn build/fcn --data DIR [unittest arguments]

Tolerances. N ranks read the same global batches as one process; only the order in which float32
gradients are summed differs (each rank sums its slice, then MPI adds the N partial sums). That changes
a gradient by a few float32 ulps, ~1e-7 relative. Adam turns a gradient g into a step of about
lr * m / sqrt(v), so such a change moves a weight by ~1e-7 of one step (lr = 1e-4), except where a
gradient is near zero and m / sqrt(v) is sensitive; over 10 steps no weight may move by more than
1e-6, a hundredth of one Adam step (a weight stepping the other way once would differ by 2e-4). The
loss is a double sum of float32 per-pixel terms computed from those weights: relative 1e-6.
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

FCN = None          # path of the fcn binary
DATA = None         # folder with export.json, made by `fcn make-dataset`
MPIRUN = "mpirun"

LOSS_RTOL = 1e-6
WEIGHT_ATOL = 1e-6
TIMEOUT_S = 120     # the longest any one launch may take before the test fails (and kills it)

# Small enough for 2 cores: 32x32 images, 16 channels, batch 6 (3 ranks take 2 each).
BASE = {"--device": "cpu", "--threads": "1", "--loader-threads": "1", "--size": "32", "--channels": "16",
        "--batch": "6", "--eval-every": "5", "--log-images": "1"}


def flags(*extra, **overrides):
    """BASE with `overrides` (batch="7" replaces --batch) as a command line, then the `extra` arguments."""
    merged = dict(BASE)
    merged.update({"--" + key.replace("_", "-"): value for key, value in overrides.items()})
    return [part for pair in merged.items() for part in pair] + list(extra)


def read_safetensors(path):
    """{name: (dtype, shape, list of floats)} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        assert entry["dtype"] == "F32", (path, name, entry["dtype"])
        raw = blob[base + begin:base + end]
        tensors[name] = list(struct.unpack("<%df" % (len(raw) // 4), raw))
    return tensors, header.get("__metadata__", {})


def train_losses(run_dir):
    """{step: loss} of the train records in metrics.jsonl, failing on a step logged twice."""
    losses = {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if record["split"] != "train":
                continue
            assert record["step"] not in losses, "step %d logged twice in %s" % (record["step"], run_dir)
            losses[record["step"]] = record["loss"]
    return losses


class Launch:
    """One run of fcn train (or another subcommand), alone (ranks=1) or under mpirun, in its own process
    group."""

    def __init__(self, ranks, args, env=None, subcommand=("train",)):
        command = [FCN] + list(subcommand) + args
        if ranks > 1:
            command = [MPIRUN, "-np", str(ranks), "--allow-run-as-root", "--oversubscribe",
                       "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
                       "--mca", "oob_tcp_if_include", "lo"] + command
        self.command = command
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True, env=dict(os.environ, **(env or {})))

    def wait(self, timeout=TIMEOUT_S):
        """(exit code, stdout, stderr); the whole group is killed after `timeout` seconds."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, err = self.process.communicate()
            raise AssertionError("%s ran past %d s\nstdout:\n%s\nstderr:\n%s" %
                                 (" ".join(self.command), timeout, out[-3000:], err[-3000:]))
        return self.process.returncode, out, err

    def rank_pid(self, rank):
        """The pid of rank `rank`'s fcn process: a descendant of mpirun with OMPI_COMM_WORLD_RANK=rank."""
        wanted = ("OMPI_COMM_WORLD_RANK=%d" % rank).encode()
        parents = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % entry) as f:
                    # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
        for pid in parents:
            ancestor = parents.get(pid)
            while ancestor not in (None, 0, 1, self.process.pid):
                ancestor = parents.get(ancestor)
            if ancestor != self.process.pid:
                continue
            try:
                with open("/proc/%d/environ" % pid, "rb") as f:
                    environment = f.read().split(b"\0")
                with open("/proc/%d/comm" % pid) as f:
                    name = f.read().strip()
            except OSError:
                continue
            if name == "fcn" and wanted in environment:
                return pid
        return None

    def kill_all(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.communicate()


def run_ok(test, ranks, args):
    code, out, err = Launch(ranks, args).wait()
    test.assertEqual(code, 0, "fcn train on %d rank(s) failed\nstdout:\n%s\nstderr:\n%s" % (ranks, out, err))
    return out, err


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("waited %d s for %s" % (timeout, what))


class DataParallel(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fcn_dist_")
        self.export = os.path.join(DATA, "export.json")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_dir(self, name):
        return os.path.join(self.tmp, name)

    def train(self, ranks, name, steps, **overrides):
        run = self.run_dir(name)
        run_ok(self, ranks, flags("--quiet", export=self.export, steps=str(steps), run_dir=run, **overrides))
        return run

    def assert_same_training(self, expected_run, run, what):
        expected, got = train_losses(expected_run), train_losses(run)
        self.assertEqual(sorted(expected), sorted(got), what + ": the steps logged")
        for step in expected:
            self.assertLessEqual(abs(got[step] - expected[step]), LOSS_RTOL * abs(expected[step]),
                                 "%s: the loss of step %d, %r against %r" % (what, step, got[step], expected[step]))
        want, _ = read_safetensors(os.path.join(expected_run, "latest.safetensors"))
        have, _ = read_safetensors(os.path.join(run, "latest.safetensors"))
        self.assertEqual(sorted(want), sorted(have))
        for name in want:
            if name.startswith("adam."):
                continue
            worst = max(abs(a - b) for a, b in zip(want[name], have[name]))
            self.assertLessEqual(worst, WEIGHT_ATOL, "%s: %s differs by %g" % (what, name, worst))

    def test_two_and_three_ranks_train_as_one_process(self):
        single = self.train(1, "single", 10)
        for ranks in (2, 3):
            self.assert_same_training(single, self.train(ranks, "ranks%d" % ranks, 10), "%d ranks" % ranks)

    def test_mean_loss_and_weight_decay_on_two_ranks(self):
        # The mean divides by the global batch's pixels on every rank; weight decay is added once.
        extra = dict(loss_reduction="mean", weight_decay="5e-4", lr="1e-3")
        single = self.train(1, "single", 10, **extra)
        self.assert_same_training(single, self.train(2, "ranks2", 10, **extra), "2 ranks, mean, weight decay")

    def test_an_uneven_batch_over_ranks(self):
        # --batch 7 on 3 ranks: slices of 3, 2, 2; the loss and gradient stay the whole batch's.
        single = self.train(1, "single", 6, batch="7")
        self.assert_same_training(single, self.train(3, "ranks3", 6, batch="7"), "3 ranks, batch 7")

    def test_two_ranks_twice_give_bit_identical_checkpoints(self):
        first = self.train(2, "first", 10)
        second = self.train(2, "second", 10)
        with open(os.path.join(first, "latest.safetensors"), "rb") as a, \
                open(os.path.join(second, "latest.safetensors"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_resume_two_ranks_on_three_against_one_process(self):
        single = self.train(1, "single", 8)
        resumed = self.train(2, "resumed", 4)
        checkpoint = os.path.join(resumed, "latest.safetensors")
        self.train(3, "resumed", 8, resume=checkpoint)
        self.assert_same_training(single, resumed, "2 ranks to step 4, then 3 ranks to 8")
        # And the 3-rank checkpoint resumes on a single process.
        self.train(1, "resumed", 10, resume=checkpoint)
        self.assertEqual(max(train_losses(resumed)), 10)

    def test_only_rank_zero_writes_and_logs_once(self):
        run = self.run_dir("ranks3")
        out, _ = run_ok(self, 3, flags(export=self.export, steps="6", run_dir=run))
        self.assertEqual(sorted(train_losses(run)), list(range(1, 7)))
        for step in range(1, 7):
            self.assertEqual(out.count("step %d/6 " % step), 1, "step %d's line\n%s" % (step, out))
        self.assertEqual(out.count("done: 6 steps"), 1, out)
        events = [name for name in os.listdir(os.path.join(run, "train"))]
        self.assertEqual(len(events), 1, events)  # one TensorBoard file, from rank 0
        written = sorted(os.listdir(run))
        self.assertEqual(written, ["checkpoints", "latest.safetensors", "metrics.jsonl", "progress.png", "test",
                                   "train"])

    def test_bench_step_reports_the_all_reduce_share(self):
        args = ["--device", "cpu", "--threads", "1", "--size", "32", "--batch", "4", "--repeats", "3", "--json"]
        code, out, err = Launch(2, args, subcommand=("bench", "step")).wait()
        self.assertEqual(code, 0, err)
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 1, "rank 0 alone prints\n" + out)
        row = json.loads(lines[0])
        self.assertEqual(row["ranks"], 2)
        # The seed's model: 3x3x3x64 + 64 + 3x3x64x64 + 64 + 64 + 1 = 38785 floats.
        self.assertEqual(row["gradient_bytes"], 4 * 38785)
        self.assertGreater(row["allreduce_alone_ms"], 0)
        self.assertGreater(row["allreduce_in_step_ms"], 0)
        self.assertLess(row["allreduce_share"], 1)

    def test_a_batch_smaller_than_the_ranks_is_refused(self):
        args = flags(export=self.export, steps="2", batch="2", run_dir=self.run_dir("x"))
        code, out, err = Launch(3, args).wait()
        self.assertNotEqual(code, 0)
        self.assertIn("--batch 2 over 3 ranks", err)
        self.assertIn("HINT", err)
        self.assertFalse(os.path.exists(os.path.join(self.run_dir("x"), "latest.safetensors")))

    def long_run(self, ranks, name, **overrides):
        run = self.run_dir(name)
        launch = Launch(ranks, flags("--quiet", export=self.export, steps="1000000", save_every="5", eval_every="0",
                                     run_dir=run, **overrides))
        checkpoint = os.path.join(run, "latest.safetensors")
        try:
            wait_for(lambda: os.path.exists(checkpoint), 60, "the first checkpoint of " + run)
        except AssertionError:
            launch.kill_all()
            raise
        return launch, run

    def assert_resumable(self, run):
        checkpoint = os.path.join(run, "latest.safetensors")
        _, metadata = read_safetensors(checkpoint)
        step = int(metadata["step"])
        self.assertGreaterEqual(step, 5)
        self.train(1, os.path.basename(run), step + 1, resume=checkpoint)
        return step

    def signal_rank_one(self, name, signal_number, timeout_s):
        """A 3-rank run with --dist-timeout timeout_s whose rank 1 gets signal_number after the first
        checkpoint: (exit code, stderr, seconds from the signal to the exit, run folder)."""
        launch, run = self.long_run(3, name, dist_timeout=str(timeout_s))
        pid = launch.rank_pid(1)
        if pid is None:
            launch.kill_all()
            self.fail("rank 1's process was not found under mpirun")
        os.kill(pid, signal_number)
        started = time.monotonic()
        try:
            code, _, err = launch.wait(timeout=60)
        finally:
            try:
                os.kill(pid, signal.SIGCONT)  # a stopped rank may go now (its peers are gone)
            except ProcessLookupError:
                pass
        return code, err, time.monotonic() - started, run

    def test_a_killed_rank_stops_every_rank(self):
        code, err, seconds, run = self.signal_rank_one("killed", signal.SIGKILL, 20)
        self.assertNotEqual(code, 0, err)
        self.assertLess(seconds, 30, "the other ranks should stop within the timeout (20 s)")
        self.assertIn("rank 1", err)  # mpirun, or a rank's timeout, names the dead rank
        self.assert_resumable(run)

    def test_a_hung_rank_is_named_within_the_timeout(self):
        code, err, seconds, run = self.signal_rank_one("hung", signal.SIGSTOP, 3)
        self.assertNotEqual(code, 0, err)
        self.assertLess(seconds, 30, "the timeout is 3 s")
        self.assertIn("no answer from rank 1", err)
        self.assert_resumable(run)

    def test_ctrl_c_saves_the_last_completed_step(self):
        launch, run = self.long_run(2, "interrupted")
        time.sleep(0.5)
        os.killpg(launch.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        code, out, err = launch.wait(timeout=60)
        self.assertNotEqual(code, 0, "an interrupted run reports it")
        losses = train_losses(run)
        step = self.assert_resumable(run)
        self.assertEqual(step, max(losses), "the checkpoint is the last logged step\n" + out + err)


def main():
    global FCN, DATA, MPIRUN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fcn", required=True, help="the fcn binary")
    parser.add_argument("--data", required=True, help="a folder made by fcn make-dataset")
    parser.add_argument("--mpirun", default="mpirun", help="the MPI launcher")
    args, rest = parser.parse_known_args()
    FCN, DATA, MPIRUN = os.path.abspath(args.fcn), os.path.abspath(args.data), args.mpirun
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
