"""relucl's ops from Python against float64 NumPy references."""
import numpy as np
import pytest

import relucl

SIZES = [0, 1, 7, 16, 1031]
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 6.0, 1.0], np.float32)


def data(n, seed=0, special=True):
    x = np.random.default_rng(seed).uniform(-8, 8, n).astype(np.float32)
    if special and n >= len(SPECIALS):
        x[: len(SPECIALS)] = SPECIALS
    return x


def reference(kind, x, alpha):
    x = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "relu":
            return np.where(x > 0, x, np.where(np.isnan(x), x, 0.0))
        if kind == "leaky_relu":
            return np.where(x > 0, x, alpha * x)
        if kind == "elu":
            return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        if kind == "clipped_relu":
            return np.where(np.isnan(x), x, np.clip(x, 0, alpha))
        return x


def test_package_version_is_the_librarys():
    import pathlib
    import re
    pyproject = (pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([0-9.]+)"$', pyproject, re.M).group(1) == relucl.__version__


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind,alpha", [("relu", 0), ("leaky_relu", 0.1), ("elu", 1.0),
                                        ("clipped_relu", 6.0), ("identity", 0)])
def test_activation_forward_matches_float64(ctx, n, kind, alpha):
    x = data(n, n)
    y = relucl.activation_forward(ctx, relucl.Tensor.from_numpy(ctx, x.reshape(-1) if n else
                                                                np.zeros(0, np.float32)),
                                  kind, alpha)
    got = y.numpy().astype(np.float64)
    want = reference(kind, x, alpha)
    got[got == 0], want[want == 0] = 0.0, 0.0  # the sign of a zero result is not specified
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)


def test_activation_backward_from_x_and_from_y(ctx):
    x = data(1031, 3, special=False)
    dy = data(1031, 4, special=False)
    tx, tdy = relucl.Tensor.from_numpy(ctx, x), relucl.Tensor.from_numpy(ctx, dy)
    ty = relucl.activation_forward(ctx, tx, "leaky_relu", 0.2)
    dx_x = relucl.activation_backward(ctx, tdy, x=tx, kind="leaky_relu", alpha=0.2).numpy()
    dx_y = relucl.activation_backward(ctx, tdy, y=ty, kind="leaky_relu", alpha=0.2).numpy()
    want = dy * np.where(x > 0, 1.0, 0.2)
    np.testing.assert_allclose(dx_x, want, rtol=1e-6)
    np.testing.assert_array_equal(dx_x, dx_y)


def test_prelu_forward_backward(ctx):
    x = data(2 * 3 * 5, 5, special=False).reshape(2, 3, 5)
    slope = np.array([0.25, -0.5, 2.0], np.float32)
    dy = data(30, 6, special=False).reshape(2, 3, 5)
    tx, ts, tdy = (relucl.Tensor.from_numpy(ctx, a) for a in (x, slope, dy))
    y = relucl.prelu_forward(ctx, tx, ts).numpy()
    np.testing.assert_allclose(y, np.where(x > 0, x, slope[None, :, None] * x), rtol=1e-6)
    dx, ds = relucl.prelu_backward(ctx, tx, ts, tdy)
    np.testing.assert_allclose(dx.numpy(), np.where(x > 0, dy, slope[None, :, None] * dy),
                               rtol=1e-6)
    want_ds = np.where(x > 0, 0.0, x.astype(np.float64) * dy).sum(axis=(0, 2))
    np.testing.assert_allclose(ds.numpy(), want_ds, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 13, 5), (31, 1, 17), (64, 96, 33)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_matches_float64(ctx, m, k, n, ta, tb):
    rng = np.random.default_rng(m * k + n)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = relucl.gemm(ctx, relucl.Tensor.from_numpy(ctx, a), relucl.Tensor.from_numpy(ctx, b),
                    alpha=0.5, trans_a=ta, trans_b=tb).numpy()
    want = 0.5 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b))
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-5 * np.sqrt(k))


def test_gemm_batched_broadcasts_a_batch_of_one(ctx):
    rng = np.random.default_rng(9)
    a = rng.standard_normal((1, 5, 7)).astype(np.float32)
    b = rng.standard_normal((3, 7, 4)).astype(np.float32)
    c = relucl.gemm_batched(ctx, relucl.Tensor.from_numpy(ctx, a),
                            relucl.Tensor.from_numpy(ctx, b)).numpy()
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_dense_both_layouts_and_dy_kept(ctx, layout):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((9, 13)).astype(np.float32)
    w = rng.standard_normal((13, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    dy = rng.standard_normal((9, 6)).astype(np.float32)
    wl = w if layout == "in_out" else np.ascontiguousarray(w.T)
    tx, tw, tb, tdy = (relucl.Tensor.from_numpy(ctx, a) for a in (x, wl, b, dy))
    z, y = relucl.dense_forward(ctx, tx, tw, tb, act="relu", layout=layout, keep_z=True)
    zz = x.astype(np.float64) @ w + b
    np.testing.assert_allclose(y.numpy(), np.maximum(zz, 0), rtol=1e-5, atol=1e-5)
    dx, dw, db, _ = relucl.dense_backward(ctx, tx, tw, tdy, z=z, b=tb, act="relu",
                                          layout=layout)
    dz = dy * (zz > 0)
    np.testing.assert_allclose(dx.numpy(), dz @ w.T, rtol=1e-5, atol=1e-5)
    want_dw = x.T.astype(np.float64) @ dz
    np.testing.assert_allclose(dw.numpy(), want_dw if layout == "in_out" else want_dw.T,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db.numpy(), dz.sum(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tdy.numpy(), dy)  # keep_dy: untouched


def conv_reference(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    p, q = (h + 2 * pad - r) // stride + 1, (wd + 2 * pad - s) // stride + 1
    y = np.zeros((n, k, p, q))
    for i in range(p):
        for j in range(q):
            patch = xp[:, :, i * stride:i * stride + r, j * stride:j * stride + s]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y + b[None, :, None, None]


@pytest.mark.parametrize("algo", ["naive", "gemm"])
def test_conv2d_forward_and_gradients(ctx, algo):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    tx, tw, tb = (relucl.Tensor.from_numpy(ctx, a) for a in (x, w, b))
    y = relucl.conv2d_forward(ctx, tx, tw, tb, stride=2, padding=1, algo=algo)
    want = conv_reference(x, w, b, 2, 1)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-5)
    # Gradients of sum(y * g) by finite differences of the float64 reference.
    g = rng.standard_normal(want.shape).astype(np.float32)
    tg = relucl.Tensor.from_numpy(ctx, g)
    dx = relucl.conv2d_backward_data(ctx, tg, tw, x.shape, stride=2, padding=1, algo=algo)
    dw, db = relucl.conv2d_backward_filter(ctx, tx, tg, w.shape, stride=2, padding=1, algo=algo)
    loss = lambda xx, ww: float((conv_reference(xx, ww, b, 2, 1) * g).sum())
    eps = 1e-3
    for idx in [(0, 0, 0, 0), (1, 2, 4, 3), (0, 1, 8, 6)]:
        xp, xm = x.astype(np.float64), x.astype(np.float64)
        xp[idx] += eps
        xm[idx] -= eps
        fd = (loss(xp, w) - loss(xm, w)) / (2 * eps)
        assert abs(dx.numpy()[idx] - fd) <= 1e-3 * (1 + abs(fd))
    for idx in [(0, 0, 0, 0), (15, 2, 2, 1)]:
        wp, wm = w.astype(np.float64), w.astype(np.float64)
        wp[idx] += eps
        wm[idx] -= eps
        fd = (loss(x, wp) - loss(x, wm)) / (2 * eps)
        assert abs(dw.numpy()[idx] - fd) <= 1e-3 * (1 + abs(fd))
    np.testing.assert_allclose(db.numpy(), g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5,
                               atol=1e-5)


def test_pooling_max_avg_and_global(ctx):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    tx = relucl.Tensor.from_numpy(ctx, x)
    y, argmax = relucl.pool2d_forward(ctx, tx, "max", 2)
    want = x[:, :, :6, :4].reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(y.numpy(), want)
    dx = relucl.pool2d_backward(ctx, relucl.Tensor.from_numpy(ctx, np.ones_like(want)), argmax,
                                x.shape, "max", 2).numpy()
    assert dx.sum() == want.size and set(np.unique(dx)) <= {0.0, 1.0}
    ya, _ = relucl.pool2d_forward(ctx, tx, "avg", 2)
    np.testing.assert_allclose(
        ya.numpy(), x[:, :, :6, :4].astype(np.float64).reshape(2, 3, 3, 2, 2, 2).mean(axis=(3, 5)),
        rtol=1e-5, atol=1e-7)
    g = relucl.global_avg_pool_forward(ctx, tx).numpy()
    np.testing.assert_allclose(g, x.astype(np.float64).mean(axis=(2, 3)), rtol=1e-5)
    back = relucl.global_avg_pool_backward(ctx, relucl.Tensor.from_numpy(ctx, np.ones((2, 3),
                                                                                  np.float32)),
                                           x.shape).numpy()
    np.testing.assert_allclose(back, np.full(x.shape, 1 / 30), rtol=1e-6)


def test_errors_carry_relucl_messages(ctx):
    a = relucl.Tensor.from_numpy(ctx, np.zeros((3, 5), np.float32))
    with pytest.raises(relucl.Error) as e:
        relucl.gemm(ctx, a, a)
    assert e.value.status == "RELUCL_ERROR_SHAPE"
    assert "relucl_gemm" in str(e.value) and "inner sizes differ" in str(e.value)
    with pytest.raises(relucl.Error) as e:
        relucl.activation_forward(ctx, a, "elu", alpha=-1.0)
    assert "alpha" in str(e.value)
    with pytest.raises(ValueError):
        relucl.activation_forward(ctx, a, "swish")
    with pytest.raises(relucl.Error) as e:
        relucl.Context("no such device anywhere")
    assert e.value.status == "RELUCL_ERROR_NO_DEVICE"


def test_wrap_host_is_zero_copy_and_checks_its_array(ctx):
    x = data(1031, 21)
    keep = x.copy()
    t = relucl.Tensor.wrap_host(ctx, x)
    relucl.activation_forward(ctx, t, "relu", out=t)
    with t.host() as view:
        assert view.ctypes.data == x.ctypes.data  # the array's own memory
        want = reference("relu", keep, 0)
        np.testing.assert_array_equal(np.where(view == 0, 0, view), np.where(want == 0, 0, want))
        view[:] = -1.0
    relucl.activation_forward(ctx, t, "clipped_relu", 0.5, out=t)
    with t.host() as view:
        assert (view == 0).all()
    t.release()
    with pytest.raises(TypeError):
        relucl.Tensor.wrap_host(ctx, np.zeros(4, np.float64))
    with pytest.raises(ValueError):
        relucl.Tensor.wrap_host(ctx, np.zeros((4, 4), np.float32)[:, 1])
    raw = np.zeros(17, np.uint8)
    misaligned = raw[1:].view(np.float32)  # 4 floats one byte past the buffer's start
    with pytest.raises(relucl.Error) as e:
        relucl.Tensor.wrap_host(ctx, misaligned)
    assert "aligned" in str(e.value)
