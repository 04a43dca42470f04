"""relucl from Python: contexts, tensors to and from NumPy (copied, or zero-copy over host
memory), pyopencl interop, and the library's ops. PyTorch modules are in relucl.torch.

    import numpy as np, relucl
    ctx = relucl.Context()                      # the best device, or $RELUCL_DEVICE
    x = relucl.Tensor.from_numpy(ctx, np.random.randn(4, 5).astype(np.float32))
    y = relucl.activation_forward(ctx, x, "leaky_relu", alpha=0.1)
    print(y.numpy())

Every failing call raises relucl.Error carrying relucl's own message ("function: argument:
reason") and its status name. Ops are asynchronous like the C API; numpy() and host() wait.
"""

import contextlib
import ctypes

import numpy as np

from . import _lib
from ._lib import Activation_t, Conv2d_t, Dense_t, DenseGrads_t, Pool2d_t, Tensor_t, lib

__version__ = lib.relucl_version().decode()
__all__ = [
    "Error", "Context", "Tensor", "activation_forward", "activation_backward", "prelu_forward",
    "prelu_backward", "gemm", "gemm_batched", "dense_forward", "dense_backward",
    "conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter", "pool2d_forward",
    "pool2d_backward", "global_avg_pool_forward", "global_avg_pool_backward",
]

ACTIVATIONS = {"relu": 0, "leaky_relu": 1, "elu": 2, "clipped_relu": 3, "identity": 4}
_CONV_ALGOS = {"auto": 0, "naive": 1, "gemm": 2}
_POOL_KINDS = {"max": 0, "avg": 1}
_LAYOUTS = {"in_out": 0, "out_in": 1}


class Error(RuntimeError):
    """A relucl call failed: status is its name (e.g. "RELUCL_ERROR_SHAPE"), and the message is
    relucl's own."""

    def __init__(self, status, message):
        self.status = lib.relucl_status_name(status).decode()
        self.message = message
        super().__init__("%s: %s" % (self.status, message))


def _raise_unless_ok(status, message):
    if status != 0:
        raise Error(status, message)


class Context:
    """A relucl context: one device and one in-order queue (or the caller's queue)."""

    def __init__(self, device=None, _handle=None, _keep=None):
        if _handle is None:
            handle = ctypes.c_void_p()
            why = ctypes.create_string_buffer(1024)
            status = lib.relucl_context_create_ex(device.encode() if device else None,
                                                  ctypes.byref(handle), why, len(why))
            _raise_unless_ok(status, why.value.decode(errors="replace"))
            _handle = handle.value
        self._handle = _handle
        self._keep = _keep  # the pyopencl queue this context was made from, kept alive

    @classmethod
    def from_pyopencl(cls, queue):
        """A context on a pyopencl CommandQueue (its context, device and queue). An
        out-of-order queue gets relucl's own in-order queue beside it: order the two with
        wait_events and record_event."""
        handle = ctypes.c_void_p()
        why = ctypes.create_string_buffer(1024)
        status = lib.relucl_context_create_from_queue_ex(ctypes.c_void_p(queue.int_ptr),
                                                         ctypes.byref(handle), why, len(why))
        _raise_unless_ok(status, why.value.decode(errors="replace"))
        return cls(_handle=handle.value, _keep=queue)

    def check(self, status):
        """Raises Error with the context's message unless status is RELUCL_OK."""
        if status != 0:
            raise Error(status, lib.relucl_context_error(self._handle).decode(errors="replace"))

    @property
    def handle(self):
        if self._handle is None:
            raise ValueError("relucl.Context: used after close()")
        return self._handle

    @property
    def device_name(self):
        return lib.relucl_context_device_name(self.handle).decode(errors="replace")

    @property
    def queue_ptr(self):
        """The cl_command_queue relucl enqueues on, as an integer (pyopencl's int_ptr)."""
        return lib.relucl_context_queue(self.handle)

    def finish(self):
        self.check(lib.relucl_context_finish(self.handle))

    def wait_events(self, events):
        """Later relucl ops wait for these events (pyopencl Events, or anything with an
        int_ptr, or raw integer handles); they stay the caller's."""
        handles = [e if isinstance(e, int) else e.int_ptr for e in events]
        array = (ctypes.c_void_p * max(len(handles), 1))(*handles)
        self.check(lib.relucl_context_wait_events(self.handle, len(handles), array))

    def record_event(self):
        """An event completing after all relucl work so far: a pyopencl Event when pyopencl
        is installed (it then owns the handle), else the raw handle as an integer, which the
        caller releases with clReleaseEvent."""
        event = ctypes.c_void_p()
        self.check(lib.relucl_context_record_event(self.handle, ctypes.byref(event)))
        try:
            import pyopencl
        except ImportError:
            return event.value
        return pyopencl.Event.from_int_ptr(event.value, retain=False)

    def close(self):
        if getattr(self, "_handle", None) is not None:  # None too when __init__ failed
            lib.relucl_context_destroy(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _dims(shape):
    shape = tuple(int(d) for d in shape)
    return shape, (ctypes.c_size_t * max(len(shape), 1))(*shape)


class Tensor:
    """A float32 tensor relucl can use: its own device buffer, the caller's host memory
    (zero-copy), or a view of a pyopencl buffer. Keeps alive whatever its memory belongs to."""

    def __init__(self, ctx, shape, _struct=None, _owns=True, _keep=None):
        self.ctx = ctx
        self._owns = _owns
        self._keep = _keep
        self._host = False
        if _struct is None:
            shape, dims = _dims(shape)
            _struct = Tensor_t()
            ctx.check(lib.relucl_tensor_create(ctx.handle, len(shape), dims,
                                               ctypes.byref(_struct)))
        self._t = _struct

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def empty(cls, ctx, shape):
        """A new device tensor; its contents are undefined."""
        return cls(ctx, shape)

    @classmethod
    def zeros(cls, ctx, shape):
        t = cls(ctx, shape)
        t.fill(0.0)
        return t

    @classmethod
    def from_numpy(cls, ctx, array, zero_copy=False):
        """A device copy of array (any dtype convertible to float32), or with zero_copy the
        array's own memory (it must then be C-contiguous, float32 and writeable: see
        wrap_host)."""
        if zero_copy:
            return cls.wrap_host(ctx, array)
        host = np.ascontiguousarray(array, dtype=np.float32)
        t = cls(ctx, host.shape if host.ndim else (1,))
        t.write(host)
        return t

    @classmethod
    def wrap_host(cls, ctx, array):
        """A tensor over array's memory (relucl_tensor_wrap_host): no copy where the device
        shares host memory. Until the tensor is released, read or write the array only inside
        `with tensor.host():`."""
        if not isinstance(array, np.ndarray) or array.dtype != np.float32:
            raise TypeError("relucl.Tensor.wrap_host: array must be a float32 numpy.ndarray")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError("relucl.Tensor.wrap_host: array must be C-contiguous and writeable")
        t = cls._wrap_address(ctx, array.ctypes.data, array.shape, keep=array)
        return t

    @classmethod
    def _wrap_address(cls, ctx, address, shape, keep):
        shape, dims = _dims(shape if len(shape) else (1,))
        struct = Tensor_t()
        ctx.check(lib.relucl_tensor_wrap_host(ctx.handle, ctypes.c_void_p(address), len(shape),
                                              dims, ctypes.byref(struct)))
        t = cls(ctx, shape, _struct=struct, _owns=True, _keep=keep)
        t._host = True
        return t

    @classmethod
    def from_pyopencl(cls, ctx, buffer, shape, offset=0):
        """A view of a pyopencl Buffer (float32 elements, offset in elements); the buffer
        stays pyopencl's."""
        shape, dims = _dims(shape)
        struct = Tensor_t()
        _raise_unless_ok(lib.relucl_tensor_wrap(ctypes.c_void_p(buffer.int_ptr), int(offset),
                                                len(shape), dims, ctypes.byref(struct)),
                         "relucl_tensor_wrap: bad shape %r" % (shape,))
        return cls(ctx, shape, _struct=struct, _owns=False, _keep=buffer)

    # ---- properties -----------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self._t.dims[i] for i in range(self._t.ndim))

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ptr(self):
        """For passing to a C function."""
        return ctypes.byref(self._t)

    @property
    def pointer(self):
        """For storing in a C struct (relucl_dense and the like)."""
        return ctypes.pointer(self._t)

    def reshape(self, shape):
        """A view with the same elements and another shape; it keeps this tensor alive."""
        shape, dims = _dims(shape)
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError("relucl.Tensor.reshape: %r has a different element count than %r"
                             % (shape, self.shape))
        struct = Tensor_t()
        lib.relucl_tensor_wrap(ctypes.c_void_p(self._t.buffer), self._t.offset, len(shape),
                               dims, ctypes.byref(struct))
        view = Tensor(self.ctx, shape, _struct=struct, _owns=False, _keep=self)
        view._host = self._host
        return view

    # ---- data -----------------------------------------------------------------------------
    def write(self, array):
        host = np.ascontiguousarray(array, dtype=np.float32)
        if host.size != self.size:
            raise ValueError("relucl.Tensor.write: %d values for %d elements"
                             % (host.size, self.size))
        self.ctx.check(lib.relucl_tensor_write(self.ctx.handle, self.ptr, host.ctypes.data))

    def numpy(self):
        """A new array with the tensor's values; waits for queued work."""
        out = np.empty(self.shape, dtype=np.float32)
        self.ctx.check(lib.relucl_tensor_read(self.ctx.handle, self.ptr, out.ctypes.data))
        return out

    def fill(self, value):
        self.ctx.check(lib.relucl_tensor_fill(self.ctx.handle, self.ptr, float(value)))

    @contextlib.contextmanager
    def host(self):
        """The host window (relucl_tensor_map_host): yields a float32 array over the tensor's
        memory, current and writable; no op may use the tensor until the block ends."""
        address = ctypes.c_void_p()
        self.ctx.check(lib.relucl_tensor_map_host(self.ctx.handle, self.ptr,
                                                  ctypes.byref(address)))
        try:
            if address.value is None:
                yield np.empty(self.shape, dtype=np.float32)
            else:
                raw = (ctypes.c_float * self.size).from_address(address.value)
                yield np.frombuffer(raw, dtype=np.float32).reshape(self.shape)
        finally:
            self.ctx.check(lib.relucl_tensor_unmap_host(self.ctx.handle, self.ptr, address))

    def release(self):
        if self._owns and self._t.buffer:
            if self._host and self.ctx._handle is not None:
                self.ctx.finish()  # the caller's memory must outlive the work using it
            lib.relucl_tensor_release(ctypes.byref(self._t))
        self._t = Tensor_t()
        self._keep = None

    def __del__(self):
        try:
            self.release()
        except Exception:  # at interpreter exit the context may be gone already
            pass

    def __repr__(self):
        return "relucl.Tensor(shape=%r)" % (self.shape,)


# ---- ops ---------------------------------------------------------------------------------

def _act(kind, alpha):
    if kind not in ACTIVATIONS:
        raise ValueError("relucl: unknown activation %r; one of %s" % (kind, sorted(ACTIVATIONS)))
    return Activation_t(ACTIVATIONS[kind], float(alpha))


def _ptr(t):
    return None if t is None else t.ptr


def _pointer(t):
    return None if t is None else t.pointer


def _like(ctx, shape, out):
    return Tensor(ctx, shape) if out is None else out


def activation_forward(ctx, x, kind="relu", alpha=0.0, out=None):
    """y = f(x) element by element ("relu", "leaky_relu", "elu", "clipped_relu" (alpha is the
    ceiling: 6 for ReLU6), "identity"); out may be x (in place)."""
    y = _like(ctx, x.shape, out)
    ctx.check(lib.relucl_activation_forward(ctx.handle, _act(kind, alpha), x.ptr, y.ptr))
    return y


def activation_backward(ctx, dy, x=None, y=None, kind="relu", alpha=0.0, out=None):
    """dx = dy * f'(x), from x or from the forward output y; out may be dy."""
    dx = _like(ctx, dy.shape, out)
    ctx.check(lib.relucl_activation_backward(ctx.handle, _act(kind, alpha), _ptr(x), _ptr(y),
                                             dy.ptr, dx.ptr))
    return dx


def prelu_forward(ctx, x, slope, out=None):
    y = _like(ctx, x.shape, out)
    ctx.check(lib.relucl_prelu_forward(ctx.handle, x.ptr, slope.ptr, y.ptr))
    return y


def prelu_backward(ctx, x, slope, dy, dx=None, dslope=None):
    """Returns (dx, dslope)."""
    dx = _like(ctx, x.shape, dx)
    dslope = _like(ctx, slope.shape, dslope)
    ctx.check(lib.relucl_prelu_backward(ctx.handle, x.ptr, slope.ptr, dy.ptr, dx.ptr,
                                        dslope.ptr))
    return dx, dslope


def _gemm_shape(a, b, trans_a, trans_b):
    m, k = (a.shape[-1], a.shape[-2]) if trans_a else (a.shape[-2], a.shape[-1])
    n = b.shape[-2] if trans_b else b.shape[-1]
    return m, n


def gemm(ctx, a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """c = alpha op(a) op(b) + beta c for 2-D tensors; c is made when not given."""
    if c is None:
        c = Tensor(ctx, _gemm_shape(a, b, trans_a, trans_b))
    ctx.check(lib.relucl_gemm(ctx.handle, int(trans_a), int(trans_b), float(alpha), a.ptr, b.ptr,
                              float(beta), c.ptr))
    return c


def gemm_batched(ctx, a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """The same over 3-D (batch, rows, cols) tensors; a or b may have batch 1."""
    if c is None:
        m, n = _gemm_shape(a, b, trans_a, trans_b)
        c = Tensor(ctx, (max(a.shape[0], b.shape[0]), m, n))
    ctx.check(lib.relucl_gemm_batched(ctx.handle, int(trans_a), int(trans_b), float(alpha),
                                      a.ptr, b.ptr, float(beta), c.ptr))
    return c


def _dense(w, b, act, alpha, slope, layout):
    if layout not in _LAYOUTS:
        raise ValueError("relucl: layout must be 'in_out' or 'out_in', not %r" % (layout,))
    kind = 5 if act == "prelu" else _act(act, alpha).kind
    return Dense_t(Activation_t(kind, float(alpha)), w.pointer, _pointer(b), _pointer(slope),
                   _LAYOUTS[layout])


def dense_forward(ctx, x, w, b=None, act="identity", alpha=0.0, slope=None, layout="in_out",
                  z=None, y=None, keep_z=False):
    """y = act(x w + b); layout "out_in" takes torch.nn.Linear's (out, in) weight. Returns y,
    or (z, y) with keep_z (the pre-activation, which backward needs for PReLU)."""
    out = w.shape[0] if layout == "out_in" else w.shape[1]
    y = _like(ctx, (x.shape[0], out), y)
    if keep_z and z is None:
        z = Tensor(ctx, y.shape)
    layer = _dense(w, b, act, alpha, slope, layout)
    ctx.check(lib.relucl_dense_forward(ctx.handle, ctypes.byref(layer), x.ptr, _ptr(z), y.ptr))
    return (z, y) if keep_z else y


def dense_backward(ctx, x, w, dy, z=None, y=None, b=None, act="identity", alpha=0.0,
                   slope=None, layout="in_out", need_dx=True, need_dw=True, need_db=True,
                   keep_dy=True, accumulate=None):
    """Gradients of one dense layer: returns (dx, dw, db, dslope), None where not asked for
    (dslope only for PReLU). keep_dy leaves dy untouched (dz goes to a scratch tensor);
    accumulate=(dw, db) adds into existing tensors instead."""
    layer = _dense(w, b, act, alpha, slope, layout)
    dx = Tensor(ctx, x.shape) if need_dx else None
    if accumulate:
        dw, db = accumulate
    else:
        dw = Tensor(ctx, w.shape) if need_dw else None
        db = Tensor(ctx, (dy.shape[1],)) if need_db else None
    dslope = Tensor(ctx, slope.shape) if act == "prelu" and slope is not None else None
    dz = Tensor(ctx, dy.shape) if keep_dy else None
    grads = DenseGrads_t(_pointer(dw), _pointer(db), _pointer(dslope), 1 if accumulate else 0,
                         _pointer(dz))
    ctx.check(lib.relucl_dense_backward(ctx.handle, ctypes.byref(layer), x.ptr, _ptr(z), _ptr(y),
                                        dy.ptr, _ptr(dx), ctypes.byref(grads)))
    return dx, dw, db, dslope


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _conv(stride, padding, dilation, groups):
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    return Conv2d_t((ctypes.c_size_t * 2)(*s), (ctypes.c_size_t * 2)(*p),
                    (ctypes.c_size_t * 2)(*d), int(groups))


def _algo(algo):
    if algo not in _CONV_ALGOS:
        raise ValueError("relucl: conv algo must be one of %s" % sorted(_CONV_ALGOS))
    return _CONV_ALGOS[algo]


def conv2d_output_shape(ctx, x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1):
    conv = _conv(stride, padding, dilation, groups)
    xd, wd, yd = ((ctypes.c_size_t * 4)(*x_shape), (ctypes.c_size_t * 4)(*w_shape),
                  (ctypes.c_size_t * 4)())
    ctx.check(lib.relucl_conv2d_output_dims(ctx.handle, ctypes.byref(conv), xd, wd, yd))
    return tuple(yd)


def conv2d_forward(ctx, x, w, b=None, stride=1, padding=0, dilation=1, groups=1,
                   act="identity", alpha=0.0, algo="auto", out=None):
    """y = act(conv(x, w) + b), NCHW input and KCRS filters, as torch.nn.functional.conv2d."""
    conv = _conv(stride, padding, dilation, groups)
    if out is None:
        out = Tensor(ctx, conv2d_output_shape(ctx, x.shape, w.shape, stride, padding, dilation,
                                              groups))
    ctx.check(lib.relucl_conv2d_forward(ctx.handle, ctypes.byref(conv), _algo(algo),
                                        _act(act, alpha), x.ptr, w.ptr, _ptr(b), out.ptr))
    return out


def conv2d_backward_data(ctx, dy, w, x_shape, stride=1, padding=0, dilation=1, groups=1,
                         algo="auto", out=None):
    conv = _conv(stride, padding, dilation, groups)
    dx = _like(ctx, x_shape, out)
    ctx.check(lib.relucl_conv2d_backward_data(ctx.handle, ctypes.byref(conv), _algo(algo),
                                              dy.ptr, w.ptr, dx.ptr))
    return dx


def conv2d_backward_filter(ctx, x, dy, w_shape, stride=1, padding=0, dilation=1, groups=1,
                           bias=True, algo="auto"):
    """Returns (dw, db); db is None without bias."""
    conv = _conv(stride, padding, dilation, groups)
    dw = Tensor(ctx, w_shape)
    db = Tensor(ctx, (w_shape[0],)) if bias else None
    ctx.check(lib.relucl_conv2d_backward_filter(ctx.handle, ctypes.byref(conv), _algo(algo),
                                                x.ptr, dy.ptr, dw.ptr, _ptr(db), 0))
    return dw, db


def _pool(kind, kernel_size, stride, padding):
    if kind not in _POOL_KINDS:
        raise ValueError("relucl: pool kind must be 'max' or 'avg', not %r" % (kind,))
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    return Pool2d_t(_POOL_KINDS[kind], (ctypes.c_size_t * 2)(*k), (ctypes.c_size_t * 2)(*s),
                    (ctypes.c_size_t * 2)(*p))


def pool2d_output_shape(ctx, x_shape, kind="max", kernel_size=2, stride=None, padding=0):
    pool = _pool(kind, kernel_size, stride, padding)
    xd, yd = (ctypes.c_size_t * 4)(*x_shape), (ctypes.c_size_t * 4)()
    ctx.check(lib.relucl_pool2d_output_dims(ctx.handle, ctypes.byref(pool), xd, yd))
    return tuple(yd)


def pool2d_forward(ctx, x, kind="max", kernel_size=2, stride=None, padding=0):
    """Returns (y, argmax); argmax (each maximum's h * W + w, as floats) is None for "avg"."""
    pool = _pool(kind, kernel_size, stride, padding)
    shape = pool2d_output_shape(ctx, x.shape, kind, kernel_size, stride, padding)
    y = Tensor(ctx, shape)
    argmax = Tensor(ctx, shape) if kind == "max" else None
    ctx.check(lib.relucl_pool2d_forward(ctx.handle, ctypes.byref(pool), x.ptr, y.ptr,
                                        _ptr(argmax)))
    return y, argmax


def pool2d_backward(ctx, dy, argmax, x_shape, kind="max", kernel_size=2, stride=None,
                    padding=0):
    pool = _pool(kind, kernel_size, stride, padding)
    dx = Tensor(ctx, x_shape)
    ctx.check(lib.relucl_pool2d_backward(ctx.handle, ctypes.byref(pool), dy.ptr, _ptr(argmax),
                                         dx.ptr))
    return dx


def global_avg_pool_forward(ctx, x):
    y = Tensor(ctx, x.shape[:2])
    ctx.check(lib.relucl_global_avg_pool_forward(ctx.handle, x.ptr, y.ptr))
    return y


def global_avg_pool_backward(ctx, dy, x_shape):
    dx = Tensor(ctx, x_shape)
    ctx.check(lib.relucl_global_avg_pool_backward(ctx.handle, dy.ptr, dx.ptr))
    return dx
