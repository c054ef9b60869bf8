
struct Dims {
  rows: u32,
  cols: u32,
  out_rows: u32,
  transposed: u32,
};
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> part: array<f32, 256>;

// Element (r, c): row-major, or column-major (c·rows + r) for the first pass over a [column][row] input.
fn at(r: u32, c: u32) -> u32 {
  return select(r * dims.cols + c, c * dims.rows + r, dims.transposed != 0u);
}

// Workgroup (c, g): column c, rows [g·2·WG, (g+1)·2·WG) → dst[g·cols + c].
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x;
  let g = wg.y;
  let r0 = g * 512u + li;
  var v = 0.0;
  if (r0 < dims.rows) { v = src[at(r0, c)]; }
  if (r0 + 256u < dims.rows) { v = v + src[at(r0 + 256u, c)]; }
  part[li] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) { part[li] = part[li] + part[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { dst[g * dims.cols + c] = part[0]; }
}
