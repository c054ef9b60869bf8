"""Lays perf's samples onto llvmpipe's JIT code (see bench/jit-profile.mjs for the commands).

  python3 bench/jit-annotate.py PERF_DATA JIT_DIR [--top 30] [--listing FILE]

Reads `perf script` (ip and dso of every sample) and the code regions that jit-profile.mjs copied
(jit-<hex start>.bin), disassembles the region holding most samples with objdump, and gives each
sample to the instruction at or before its address. A timer interrupt lands on the instruction
that was about to retire, so a sample names the instruction waiting (or the one just after a
long-latency one), not necessarily the one that is slow. Prints:
  - how the samples of the whole process split between llvmpipe's code and the rest;
  - the share of the region's samples per kind of instruction (arithmetic, stack loads and stores,
    masks, constants' addresses, ...), beside how many instructions of each kind the region holds;
  - the share at or within two instructions after each division and square root;
  - the --top instructions by samples.
--listing writes every instruction with its sample count.
"""
import bisect
import collections
import os
import re
import subprocess
import sys


def samples(perf_data):
    out = subprocess.run(['perf', 'script', '-i', perf_data, '-F', 'ip,dso'], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            yield int(parts[0], 16), parts[1]


def kind(ins):
    op = ins.split()[0]
    if op.startswith('movabs'):
        return 'constant address (movabs)'
    if op.startswith(('vmov', 'vpbroadcast', 'vbroadcast')):
        if '(%rsp)' in ins:
            return 'stack store' if ins.rstrip().endswith('(%rsp)') else 'stack load'
        return 'other vector load/store' if '(%' in ins else 'register move or broadcast'
    if re.match(r'v(mul|add|sub|div|sqrt|fn?m(add|sub)\d*|min|max|rndscale|rcp|rsqrt|getexp|getmant|scalef)(ps|ss)', op):
        return 'floating-point arithmetic'
    if re.match(r'v(cmp|ptest|pcmp|blend|pblend|pternlog)', op) or op.startswith('k'):
        return 'compare, mask, blend'
    if re.match(r'v(and|andn|or|xor)ps', op):
        return 'floating-point logic (abs, sign)'
    if op.startswith(('vp', 'vcvt', 'vextract', 'vinsert', 'vperm', 'vshuf', 'vunpck')):
        return 'integer vector, lane moves'
    if op.startswith(('j', 'call', 'ret')):
        return 'branch'
    return 'scalar integer'


def main():
    args = sys.argv[1:]
    top = 30
    listing = None
    if '--top' in args:
        i = args.index('--top'); top = int(args[i + 1]); del args[i:i + 2]
    if '--listing' in args:
        i = args.index('--listing'); listing = args[i + 1]; del args[i:i + 2]
    if len(args) != 2:
        sys.exit('usage: python3 bench/jit-annotate.py PERF_DATA JIT_DIR [--top 30] [--listing FILE]')
    perf_data, jit_dir = args
    if not os.path.isdir(jit_dir):
        sys.exit(f'{jit_dir}: not a directory (bench/jit-profile.mjs writes the code there)')
    regions = []
    for name in os.listdir(jit_dir):
        m = re.fullmatch(r'jit-([0-9a-f]+)\.bin', name)
        if m:
            lo = int(m.group(1), 16)
            regions.append((lo, lo + os.path.getsize(os.path.join(jit_dir, name)), name))
    if not regions:
        sys.exit(f'{jit_dir}: no jit-*.bin (run bench/jit-profile.mjs under perf record first)')
    regions.sort()
    per_region = collections.Counter()
    total = 0
    ips = collections.Counter()
    for ip, dso in samples(perf_data):
        total += 1
        i = bisect.bisect_right([r[0] for r in regions], ip) - 1
        if i >= 0 and ip < regions[i][1]:
            per_region[regions[i]] += 1
            ips[ip] += 1
    if not per_region:
        sys.exit('no sample fell in the copied code: was the profile taken of the same run?')
    lo, hi, name = max(per_region, key=per_region.get)
    jit_total = sum(per_region.values())
    print(f'{total} samples; {jit_total} ({100 * jit_total / total:.1f} %) in the copied JIT code, '
          f'{per_region[(lo, hi, name)]} of them in {name} ({hi - lo} bytes)')
    dis = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', f'--adjust-vma={lo:#x}', os.path.join(jit_dir, name)],
                         capture_output=True, text=True, check=True).stdout
    code = []
    for line in dis.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.*)', line)
        if m:
            code.append((int(m.group(1), 16), m.group(2).strip()))
    addrs = [a for a, _ in code]
    hits = [0] * len(code)
    for ip, n in ips.items():
        if lo <= ip < hi:
            i = bisect.bisect_right(addrs, ip) - 1
            if i >= 0:
                hits[i] += n
    n_region = sum(hits)
    shares, counts = collections.Counter(), collections.Counter()
    for (a, ins), n in zip(code, hits):
        k = kind(ins)
        shares[k] += n
        counts[k] += 1
    print('\nsamples by kind of instruction (share of the region; instructions of that kind in it):')
    for k, n in shares.most_common():
        print(f'  {k:34s} {100 * n / n_region:5.1f} %   {counts[k]:6d}')
    near = 0
    for i, (a, ins) in enumerate(code):
        if ins.split()[0] in ('vdivps', 'vsqrtps', 'vdivss', 'vsqrtss'):
            near += sum(hits[i:i + 3])
    print(f'\nat a division or square root, or the two instructions after it: {100 * near / n_region:.1f} %')
    print(f'\nthe {top} instructions with most samples (offset in the region, share, instruction):')
    for i in sorted(range(len(code)), key=lambda i: -hits[i])[:top]:
        print(f'  {addrs[i] - lo:6x} {100 * hits[i] / n_region:5.2f} %  {code[i][1]}')
    if listing:
        with open(listing, 'w') as f:
            for (a, ins), n in zip(code, hits):
                f.write(f'{a - lo:6x} {n:7d}  {ins}\n')


if __name__ == '__main__':
    main()
