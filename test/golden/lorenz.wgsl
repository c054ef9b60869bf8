// lorenz: dy/dt
fn rhs(t: f32, y: array<f32, 3>, p: array<f32, 3>) -> array<f32, 3> {
  var r: array<f32, 3>;
  r[0] = (p[0] * (y[1] - y[0]));
  r[1] = ((y[0] * (p[1] - y[2])) - y[1]);
  r[2] = ((y[0] * y[1]) - (p[2] * y[2]));
  return r;
}
// lorenz: ∂f/∂y, row-major
fn jac(t: f32, y: array<f32, 3>, p: array<f32, 3>) -> array<f32, 9> {
  var r: array<f32, 9>;
  r[0] = (p[0] * (-1.0));
  r[1] = p[0];
  r[2] = 0.0;
  r[3] = (p[1] - y[2]);
  r[4] = (-1.0);
  r[5] = (y[0] * (-1.0));
  r[6] = y[1];
  r[7] = y[0];
  r[8] = (-p[2]);
  return r;
}
// lorenz: ∂f/∂t
fn dfdt(t: f32, y: array<f32, 3>, p: array<f32, 3>) -> array<f32, 3> {
  var r: array<f32, 3>;
  r[0] = 0.0;
  r[1] = 0.0;
  r[2] = 0.0;
  return r;
}
