"""The hottest loop of a shader that llvmpipe compiled, as assembler text for llvm-mca.

Run by hand (bench/README.md, "Layer by layer, found with llvm-mca"):

  MESA_SHADER_CACHE_DISABLE=true GALLIVM_DEBUG=asm node bench/fma-ceiling.mjs --runs 1 --shapes mlp > asm.txt 2>&1
  python3 bench/mca-loop.py asm.txt > loop.s
  llvm-mca -mcpu=cascadelake -iterations=30 loop.s      # cycles per trip = Total Cycles / 30

Mesa prints each instruction as "  <hex address>:\t<mnemonic>\t<operands>", jumps with their
relative offset. The loop taken is the longest backward jump's span inside the longest function (the
shader's main). Jumps are dropped: llvm-mca simulates straight-line code, so blocks the loop skips at
run time are counted as if executed.
"""
import re
import sys

LINE = re.compile(r'\s+([0-9a-f]+):\s+(\S+)\s*(.*)')


def functions(path):
    """Instructions (address, mnemonic, operands), split into functions at each retq."""
    current = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            current.append((int(m.group(1), 16), m.group(2), m.group(3).strip()))
            if m.group(2) == 'retq':
                yield current
                current = []


def longest_loop(fn):
    """(start, end) addresses of the longest backward jump's span, or None."""
    best = None
    for i, (addr, op, arg) in enumerate(fn):
        if op.startswith('j') and re.fullmatch(r'-\d+', arg):
            end = fn[i + 1][0] if i + 1 < len(fn) else addr
            start = end + int(arg)
            if best is None or end - start > best[1] - best[0]:
                best = (start, end)
    return best


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: python3 bench/mca-loop.py ASM_DUMP  (see the docstring)')
    fns = list(functions(sys.argv[1]))
    if not fns:
        sys.exit(f'{sys.argv[1]}: no instructions; run the bench with GALLIVM_DEBUG=asm and MESA_SHADER_CACHE_DISABLE=true')
    fn = max(fns, key=len)
    span = longest_loop(fn)
    if span is None:
        sys.exit(f'{sys.argv[1]}: the longest function has no backward jump (no loop to extract)')
    body = [(op, arg) for addr, op, arg in fn if span[0] <= addr < span[1] and not op.startswith('j') and not op.startswith('nop')]
    for op, arg in body:
        print(f'{op} {arg}')
    print(f'# {len(body)} instructions, {span[1] - span[0]} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
