"""PyTorch modules that run on relucl: ReLU, LeakyReLU, PReLU, ELU, ReLU6, Linear, Conv2d and
MaxPool2d. Each subclasses its torch.nn namesake, so constructor arguments, parameter names,
shapes, initialisation and state_dict are torch's own; forward and backward are autograd
Functions calling relucl. They take CPU float32 contiguous tensors and share their memory with
the device (relucl_tensor_wrap_host: zero-copy on CPU devices such as PoCL).

    import torch, relucl.torch as rt
    model = torch.nn.Sequential(rt.Linear(784, 256), rt.ReLU(), rt.Linear(256, 10))

All modules use relucl.torch.context() (made on first use: the best device or
$RELUCL_DEVICE) unless given context=relucl.Context(...)."""

import ctypes

import torch

from . import Context, _act
from ._lib import Conv2d_t, Dense_t, DenseGrads_t, Pool2d_t, Activation_t, lib
from . import Tensor as _Tensor

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "ReLU6", "Linear", "Conv2d", "MaxPool2d",
           "context", "set_context"]

_default_context = None


def context():
    """The context the modules use when given none; created on first use."""
    global _default_context
    if _default_context is None:
        _default_context = Context()
    return _default_context


def set_context(ctx):
    """Makes ctx (a relucl.Context) the modules' default."""
    global _default_context
    _default_context = ctx


def _check_input(t, name):
    if not isinstance(t, torch.Tensor):
        raise TypeError("relucl.torch: %s must be a torch.Tensor, not %s" % (name, type(t).__name__))
    if t.device.type != "cpu":
        raise ValueError("relucl.torch: %s is on %s; relucl's modules take CPU tensors"
                         % (name, t.device))
    if t.dtype != torch.float32:
        raise TypeError("relucl.torch: %s is %s; relucl's modules take torch.float32"
                        % (name, t.dtype))
    if not t.is_contiguous():
        raise ValueError("relucl.torch: %s is not contiguous; call .contiguous() first" % name)


class _Scope:
    """The torch tensors one relucl call uses, wrapped as relucl tensors over their memory;
    done() makes the outputs' host view current and gives the memory back to torch."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.wrapped = []

    def wrap(self, t, shape=None):
        shape = tuple(t.shape) if shape is None else tuple(shape)
        r = _Tensor._wrap_address(self.ctx, t.data_ptr(), shape if shape else (1,), keep=t)
        self.wrapped.append(r)
        return r

    def done(self, outputs):
        h = self.ctx.handle
        try:
            for r in outputs:  # the first map waits for the work; the window ends at once
                address = ctypes.c_void_p()
                self.ctx.check(lib.relucl_tensor_map_host(h, r.ptr, ctypes.byref(address)))
                self.ctx.check(lib.relucl_tensor_unmap_host(h, r.ptr, address))
        finally:
            for r in self.wrapped:
                r._host = False  # the finish below covers every buffer at once
                r.release()
            self.ctx.finish()


def _flat(t):
    """Element-wise ops see any tensor as one long vector."""
    return (t.numel(),)


# ---- activations --------------------------------------------------------------------------

class _ActivationFn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, kind, alpha, inplace, ctx):
        _check_input(x, "input")
        s = _Scope(ctx)
        rx = s.wrap(x, _flat(x))
        if inplace:
            fctx.mark_dirty(x)
            y, ry = x, rx
        else:
            y = torch.empty_like(x)
            ry = s.wrap(y, _flat(y))
        try:
            ctx.check(lib.relucl_activation_forward(ctx.handle, _act(kind, alpha), rx.ptr, ry.ptr))
        finally:
            s.done([ry])
        fctx.kind, fctx.alpha, fctx.from_y, fctx.ctx = kind, alpha, inplace, ctx
        fctx.save_for_backward(y if inplace else x)
        return y

    @staticmethod
    def backward(fctx, dy):
        (saved,) = fctx.saved_tensors
        ctx = fctx.ctx
        dy = dy.contiguous()
        dx = torch.empty_like(dy)
        s = _Scope(ctx)
        rs, rdy, rdx = s.wrap(saved, _flat(saved)), s.wrap(dy, _flat(dy)), s.wrap(dx, _flat(dx))
        x, y = (None, rs) if fctx.from_y else (rs, None)
        try:
            ctx.check(lib.relucl_activation_backward(
                ctx.handle, _act(fctx.kind, fctx.alpha), x.ptr if x else None,
                y.ptr if y else None, rdy.ptr, rdx.ptr))
        finally:
            s.done([rdx])
        return dx, None, None, None, None


def _activation(module, x, kind, alpha):
    return _ActivationFn.apply(x, kind, alpha, bool(getattr(module, "inplace", False)),
                               module.context or context())


class ReLU(torch.nn.ReLU):
    def __init__(self, inplace=False, context=None):
        super().__init__(inplace)
        self.context = context

    def forward(self, x):
        return _activation(self, x, "relu", 0.0)


class LeakyReLU(torch.nn.LeakyReLU):
    def __init__(self, negative_slope=0.01, inplace=False, context=None):
        super().__init__(negative_slope, inplace)
        self.context = context

    def forward(self, x):
        return _activation(self, x, "leaky_relu", self.negative_slope)


class ELU(torch.nn.ELU):
    def __init__(self, alpha=1.0, inplace=False, context=None):
        super().__init__(alpha, inplace)
        self.context = context

    def forward(self, x):
        return _activation(self, x, "elu", self.alpha)


class ReLU6(torch.nn.ReLU6):
    def __init__(self, inplace=False, context=None):
        super().__init__(inplace)
        self.context = context

    def forward(self, x):
        return _activation(self, x, "clipped_relu", 6.0)


class _PReLUFn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, weight, ctx):
        _check_input(x, "input")
        _check_input(weight, "weight")
        shape = tuple(x.shape) if x.dim() <= 4 else tuple(x.shape[:2]) + (-1,)
        if len(shape) == 3 and shape[2] == -1:
            shape = shape[:2] + (x[0, 0].numel(),)
        s = _Scope(ctx)
        y = torch.empty_like(x)
        rx, rw, ry = s.wrap(x, shape), s.wrap(weight), s.wrap(y, shape)
        try:
            ctx.check(lib.relucl_prelu_forward(ctx.handle, rx.ptr, rw.ptr, ry.ptr))
        finally:
            s.done([ry])
        fctx.shape, fctx.ctx = shape, ctx
        fctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(fctx, dy):
        x, weight = fctx.saved_tensors
        ctx, shape = fctx.ctx, fctx.shape
        dy = dy.contiguous()
        dx, dw = torch.empty_like(x), torch.empty_like(weight)
        s = _Scope(ctx)
        rx, rw, rdy = s.wrap(x, shape), s.wrap(weight), s.wrap(dy, shape)
        rdx, rdw = s.wrap(dx, shape), s.wrap(dw)
        try:
            ctx.check(lib.relucl_prelu_backward(ctx.handle, rx.ptr, rw.ptr, rdy.ptr, rdx.ptr,
                                                rdw.ptr))
        finally:
            s.done([rdx, rdw])
        return dx, dw, None


class PReLU(torch.nn.PReLU):
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None, context=None):
        super().__init__(num_parameters, init, device=device, dtype=dtype)
        self.context = context

    def forward(self, x):
        return _PReLUFn.apply(x, self.weight, self.context or context())


# ---- Linear ---------------------------------------------------------------------------------

_IDENTITY = Activation_t(4, 0.0)
_OUT_IN = 1


class _LinearFn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, weight, bias, ctx):
        _check_input(x, "input")
        _check_input(weight, "weight")
        if bias is not None:
            _check_input(bias, "bias")
        out_features, in_features = weight.shape
        cols = x.shape[-1] if x.dim() else 1  # relucl checks it against the weight
        rows = x.numel() // cols if cols else 0
        y = torch.empty(x.shape[:-1] + (out_features,), dtype=torch.float32)
        s = _Scope(ctx)
        rx, rw, ry = s.wrap(x, (rows, cols)), s.wrap(weight), s.wrap(y, (rows, out_features))
        rb = s.wrap(bias) if bias is not None else None
        layer = Dense_t(_IDENTITY, rw.pointer, rb.pointer if rb else None, None, _OUT_IN)
        try:
            ctx.check(lib.relucl_dense_forward(ctx.handle, ctypes.byref(layer), rx.ptr, None,
                                               ry.ptr))
        finally:
            s.done([ry])
        fctx.ctx, fctx.rows, fctx.has_bias = ctx, rows, bias is not None
        fctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(fctx, dy):
        x, weight = fctx.saved_tensors
        ctx, rows = fctx.ctx, fctx.rows
        out_features, in_features = weight.shape
        need_dx, need_dw, need_db = fctx.needs_input_grad[:3]
        dy = dy.contiguous()
        dx = torch.empty_like(x) if need_dx else None
        dw = torch.empty_like(weight) if need_dw else None
        db = torch.empty(out_features, dtype=torch.float32) if need_db and fctx.has_bias else None
        dz = torch.empty((rows, out_features), dtype=torch.float32)  # dy stays torch's
        s = _Scope(ctx)
        rx, rw = s.wrap(x, (rows, in_features)), s.wrap(weight)
        rdy, rdz = s.wrap(dy, (rows, out_features)), s.wrap(dz)
        rdx = s.wrap(dx, (rows, in_features)) if dx is not None else None
        rdw = s.wrap(dw) if dw is not None else None
        rdb = s.wrap(db) if db is not None else None
        layer = Dense_t(_IDENTITY, rw.pointer, None, None, _OUT_IN)
        grads = DenseGrads_t(rdw.pointer if rdw else None, rdb.pointer if rdb else None, None, 0,
                             rdz.pointer)
        outputs = [r for r in (rdx, rdw, rdb) if r is not None]
        try:
            # The identity's derivative reads no values, so dy stands in for y.
            ctx.check(lib.relucl_dense_backward(ctx.handle, ctypes.byref(layer), rx.ptr, None,
                                                rdy.ptr, rdy.ptr, rdx.ptr if rdx else None,
                                                ctypes.byref(grads)))
        finally:
            s.done(outputs)
        return dx, dw, db, None


class Linear(torch.nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None,
                 context=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.context = context

    def forward(self, x):
        return _LinearFn.apply(x, self.weight, self.bias, self.context or context())


# ---- Conv2d ---------------------------------------------------------------------------------

def _conv_struct(stride, padding, dilation, groups):
    pair = ctypes.c_size_t * 2
    return Conv2d_t(pair(*stride), pair(*padding), pair(*dilation), groups)


class _Conv2dFn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, weight, bias, stride, padding, dilation, groups, ctx):
        _check_input(x, "input")
        _check_input(weight, "weight")
        if bias is not None:
            _check_input(bias, "bias")
        conv = _conv_struct(stride, padding, dilation, groups)
        xd, wd, yd = ((ctypes.c_size_t * 4)(*x.shape), (ctypes.c_size_t * 4)(*weight.shape),
                      (ctypes.c_size_t * 4)())
        ctx.check(lib.relucl_conv2d_output_dims(ctx.handle, ctypes.byref(conv), xd, wd, yd))
        y = torch.empty(tuple(yd), dtype=torch.float32)
        s = _Scope(ctx)
        rx, rw, ry = s.wrap(x), s.wrap(weight), s.wrap(y)
        rb = s.wrap(bias) if bias is not None else None
        try:
            ctx.check(lib.relucl_conv2d_forward(ctx.handle, ctypes.byref(conv), 0, _IDENTITY,
                                                rx.ptr, rw.ptr, rb.ptr if rb else None, ry.ptr))
        finally:
            s.done([ry])
        fctx.ctx, fctx.conv_args, fctx.has_bias = ctx, (stride, padding, dilation, groups), \
            bias is not None
        fctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(fctx, dy):
        x, weight = fctx.saved_tensors
        ctx = fctx.ctx
        conv = _conv_struct(*fctx.conv_args)
        need_dx, need_dw, need_db = fctx.needs_input_grad[:3]
        need_db = need_db and fctx.has_bias
        dy = dy.contiguous()
        dx = torch.empty_like(x) if need_dx else None
        dw = torch.empty_like(weight) if need_dw or need_db else None
        db = torch.empty(weight.shape[0], dtype=torch.float32) if need_db else None
        s = _Scope(ctx)
        rdy, rw = s.wrap(dy), s.wrap(weight)
        outputs = []
        try:
            if dx is not None:
                rdx = s.wrap(dx)
                outputs.append(rdx)
                ctx.check(lib.relucl_conv2d_backward_data(ctx.handle, ctypes.byref(conv), 0,
                                                          rdy.ptr, rw.ptr, rdx.ptr))
            if dw is not None:
                rx, rdw = s.wrap(x), s.wrap(dw)
                rdb = s.wrap(db) if db is not None else None
                outputs += [r for r in (rdw, rdb) if r is not None]
                ctx.check(lib.relucl_conv2d_backward_filter(ctx.handle, ctypes.byref(conv), 0,
                                                            rx.ptr, rdy.ptr, rdw.ptr,
                                                            rdb.ptr if rdb else None, 0))
        finally:
            s.done(outputs)
        return dx, dw if need_dw else None, db, None, None, None, None, None


def _same_padding(kernel_size, dilation):
    pads = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        if total % 2:
            raise NotImplementedError("relucl.torch.Conv2d: padding='same' with an even "
                                      "effective kernel needs asymmetric padding")
        pads.append(total // 2)
    return tuple(pads)


class Conv2d(torch.nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None,
                 context=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)
        if padding_mode != "zeros":
            raise NotImplementedError("relucl.torch.Conv2d: only padding_mode='zeros'")
        self.context = context

    def forward(self, x):
        padding = self.padding
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            padding = _same_padding(self.kernel_size, self.dilation)
        unbatched = x.dim() == 3
        y = _Conv2dFn.apply(x.unsqueeze(0) if unbatched else x, self.weight, self.bias,
                            tuple(self.stride), tuple(padding), tuple(self.dilation), self.groups,
                            self.context or context())
        return y.squeeze(0) if unbatched else y


# ---- MaxPool2d ------------------------------------------------------------------------------

def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class _MaxPool2dFn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, kernel, stride, padding, ctx):
        _check_input(x, "input")
        pair = ctypes.c_size_t * 2
        pool = Pool2d_t(0, pair(*kernel), pair(*stride), pair(*padding))
        xd, yd = (ctypes.c_size_t * 4)(*x.shape), (ctypes.c_size_t * 4)()
        ctx.check(lib.relucl_pool2d_output_dims(ctx.handle, ctypes.byref(pool), xd, yd))
        y = torch.empty(tuple(yd), dtype=torch.float32)
        argmax = torch.empty(tuple(yd), dtype=torch.float32)
        s = _Scope(ctx)
        rx, ry, ra = s.wrap(x), s.wrap(y), s.wrap(argmax)
        try:
            ctx.check(lib.relucl_pool2d_forward(ctx.handle, ctypes.byref(pool), rx.ptr, ry.ptr,
                                                ra.ptr))
        finally:
            s.done([ry, ra])
        fctx.ctx, fctx.pool, fctx.x_shape = ctx, (kernel, stride, padding), x.shape
        fctx.save_for_backward(argmax)
        indices = argmax.to(torch.int64)  # h * W + w in the plane, as torch's indices
        fctx.mark_non_differentiable(indices)
        return y, indices

    @staticmethod
    def backward(fctx, dy, _dindices):
        (argmax,) = fctx.saved_tensors
        ctx = fctx.ctx
        kernel, stride, padding = fctx.pool
        pair = ctypes.c_size_t * 2
        pool = Pool2d_t(0, pair(*kernel), pair(*stride), pair(*padding))
        dy = dy.contiguous()
        dx = torch.empty(fctx.x_shape, dtype=torch.float32)
        s = _Scope(ctx)
        rdy, ra, rdx = s.wrap(dy), s.wrap(argmax), s.wrap(dx)
        try:
            ctx.check(lib.relucl_pool2d_backward(ctx.handle, ctypes.byref(pool), rdy.ptr, ra.ptr,
                                                 rdx.ptr))
        finally:
            s.done([rdx])
        return dx, None, None, None, None


class MaxPool2d(torch.nn.MaxPool2d):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False, context=None):
        super().__init__(kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        if _pair(dilation) != (1, 1) or ceil_mode:
            raise NotImplementedError("relucl.torch.MaxPool2d: dilation 1 and ceil_mode=False "
                                      "only")
        self.context = context

    def forward(self, x):
        kernel = _pair(self.kernel_size)
        stride = _pair(self.stride) if self.stride is not None else kernel
        unbatched = x.dim() == 3
        y, indices = _MaxPool2dFn.apply(x.unsqueeze(0) if unbatched else x, kernel, stride,
                                        _pair(self.padding), self.context or context())
        if unbatched:
            y, indices = y.squeeze(0), indices.squeeze(0)
        return (y, indices) if self.return_indices else y
