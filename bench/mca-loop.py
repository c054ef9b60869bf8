"""The hottest loop of a shader that llvmpipe compiled, as assembler text for llvm-mca.

Run by hand (bench/README.md, "Layer by layer, found with llvm-mca"):

  MESA_SHADER_CACHE_DISABLE=true GALLIVM_DEBUG=asm node bench/fma-ceiling.mjs --runs 1 --shapes mlp > asm.txt 2>&1
  python3 bench/mca-loop.py asm.txt > loop.s
  llvm-mca -mcpu=cascadelake -iterations=30 loop.s      # cycles per trip = Total Cycles / 30

With --harness, prints instead a GNU assembler file defining `void llvmpipe_loop(long trips)`,
which runs that loop body `trips` times natively, for bench/native/loop_harness.c (the same
instructions timed outside llvmpipe: its threads, dispatch and memory left out):

  python3 bench/mca-loop.py --harness asm.txt > bench/out/loop.S
  cc -O2 bench/native/loop_harness.c bench/out/loop.S -o bench/out/loop_harness
  bench/out/loop_harness                                # CPU cycles per trip

The harness gives the body a stack frame as large as its highest %rsp offset, every 4 bytes of it
the f32 0.01 (the weights' and the state's slots), and the same 0.01 in every vector register. It
only accepts a body whose memory operands are all on %rsp and that writes no general-purpose
register (its own trip counter lives in %r8), as in the loops of the network's shaders.

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


def harness(body):
    """GNU assembler text: llvmpipe_loop(trips) runs `body` trips times on a frame of 0.01f."""
    text = '\n'.join(f'{op} {arg}' for op, arg in body)
    others = sorted(set(re.findall(r'%(r[a-z0-9]+|e[a-z]{2})\b', text)) - {'rsp'})
    if others:
        sys.exit(f'the loop body uses {", ".join(others)}: the harness only gives it %rsp-relative memory')
    offsets = [int(o) for o in re.findall(r'(-?\d+)\(%rsp\)', text)]
    if re.search(r'\((?!%rsp\))', text.replace('(%rsp)', '')):
        sys.exit('the loop body addresses memory other than (%rsp): not supported by the harness')
    frame = (max(offsets, default=0) + 32 + 63) // 64 * 64
    lines = ['.text', '.globl llvmpipe_loop', 'llvmpipe_loop:', 'push %rbp', 'mov %rsp, %rbp',
             f'sub ${frame}, %rsp', 'and $-64, %rsp', 'mov %rdi, %r8',
             # fill the frame with 0.01f (0x3c23d70a), and every vector register with it
             'mov %rsp, %rdi', f'mov ${frame // 4}, %rcx', 'mov $0x3c23d70a, %eax', 'cld', 'rep stosl',
             'vbroadcastss (%rsp), %ymm0', *[f'vmovaps %ymm0, %ymm{r}' for r in range(1, 32)],
             '1:', *[f'{op} {arg}' for op, arg in body], 'dec %r8', 'jnz 1b',
             'vzeroupper', 'mov %rbp, %rsp', 'pop %rbp', 'ret', '.section .note.GNU-stack,"",@progbits']
    return '\n'.join(lines)


def main():
    args = sys.argv[1:]
    as_harness = '--harness' in args
    args = [a for a in args if a != '--harness']
    if len(args) != 1:
        sys.exit('usage: python3 bench/mca-loop.py [--harness] ASM_DUMP  (see the docstring)')
    fns = list(functions(args[0]))
    if not fns:
        sys.exit(f'{args[0]}: no instructions; run the bench with GALLIVM_DEBUG=asm and MESA_SHADER_CACHE_DISABLE=true')
    fn = max(fns, key=len)
    span = longest_loop(fn)
    if span is None:
        sys.exit(f'{args[0]}: the longest function has no backward jump (no loop to extract)')
    body = [(op, arg) for addr, op, arg in fn if span[0] <= addr < span[1] and not op.startswith('j') and not op.startswith('nop')]
    if as_harness:
        print(harness(body))
    else:
        for op, arg in body:
            print(f'{op} {arg}')
    print(f'# {len(body)} instructions, {span[1] - span[0]} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
