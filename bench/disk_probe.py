#!/usr/bin/python3
"""Durable small-file creation rate (the Maildir delivery pattern) and raw fdatasync rate: the disk's
physical limit for a mail server (copied from the reference set-up's disk_fsync.py).

Usage: disk_fsync.py BASEDIR MODE THREADS SECONDS
  MODE = create : per op: open(tmp/NAME, O_CREAT|O_EXCL|O_WRONLY) ; write 2048 B ; fsync(fd) ; close ;
                  rename(tmp/NAME -> new/NAME) ; fsync(new/ dir fd)           (= one durable delivery)
  MODE = fdatasync : per op: pwrite 2048 B at offset 0 of one preallocated file ; fdatasync(fd)
Each thread has its own tmp/ and new/ directory pair (like separate Maildirs) for create mode;
in fdatasync mode each thread has its own file. Runs for SECONDS, prints ops/s and latency percentiles.
Python threads release the GIL in write/fsync/rename, so threads really overlap in the kernel.
"""
import os, sys, time, threading, shutil, statistics

base, mode, nthreads, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
root = os.path.join(base, "mw_fsync_%d" % os.getpid())
os.makedirs(root)
payload = (b"x" * 77 + b"\r\n") * 25 + b"x" * (2048 - 79 * 25)
assert len(payload) == 2048
counts = [0] * nthreads
lats = [[] for _ in range(nthreads)]
stop = threading.Event()
start_barrier = threading.Barrier(nthreads + 1)


def worker_create(i):
    d = os.path.join(root, "t%d" % i)
    tmp, new = os.path.join(d, "tmp"), os.path.join(d, "new")
    os.makedirs(tmp); os.makedirs(new)
    dfd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    n = 0
    lat = lats[i]
    start_barrier.wait()
    while not stop.is_set():
        t0 = time.perf_counter()
        name = "%d.%d" % (i, n)
        p = os.path.join(tmp, name)
        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, payload)
        os.fsync(fd)
        os.close(fd)
        os.rename(p, os.path.join(new, name))
        os.fsync(dfd)
        lat.append(time.perf_counter() - t0)
        n += 1
    counts[i] = n
    os.close(dfd)


def worker_fdatasync(i):
    p = os.path.join(root, "f%d" % i)
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    os.write(fd, payload)
    os.fsync(fd)
    n = 0
    lat = lats[i]
    start_barrier.wait()
    while not stop.is_set():
        t0 = time.perf_counter()
        os.pwrite(fd, payload, 0)
        os.fdatasync(fd)
        lat.append(time.perf_counter() - t0)
        n += 1
    counts[i] = n
    os.close(fd)


fn = worker_create if mode == "create" else worker_fdatasync
ts = [threading.Thread(target=fn, args=(i,)) for i in range(nthreads)]
for t in ts:
    t.start()
start_barrier.wait()
t0 = time.perf_counter()
time.sleep(secs)
stop.set()
for t in ts:
    t.join()
el = time.perf_counter() - t0
total = sum(counts)
all_l = sorted(x for l in lats for x in l)
def pct(p):
    return all_l[min(len(all_l) - 1, int(p * len(all_l)))] * 1000 if all_l else float("nan")
print("fs=%s mode=%s threads=%d secs=%.2f ops=%d ops_per_s=%.1f lat_ms p50=%.3f p90=%.3f p99=%.3f max=%.3f"
      % (base, mode, nthreads, el, total, total / el, pct(.5), pct(.9), pct(.99), all_l[-1] * 1000))
shutil.rmtree(root)
