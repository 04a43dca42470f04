"""The shared library and its C declarations, for ctypes.

Loaded from $RELUCL_LIBRARY (a full path) first, then from the usual places: the dynamic
linker's search path (librelucl.so.<major>, librelucl.so) and what ctypes.util.find_library
finds."""

import ctypes
import ctypes.util
import os
from ctypes import POINTER, Structure, c_char_p, c_float, c_int, c_size_t, c_uint, c_void_p

MAX_DIMS = 4
ABI_MAJOR = 0  # the soname's number: librelucl.so.0


def _load():
    tried = []
    explicit = os.environ.get("RELUCL_LIBRARY")
    candidates = [explicit] if explicit else []
    candidates += ["librelucl.so.%d" % ABI_MAJOR, "librelucl.so", "librelucl.dylib"]
    found = ctypes.util.find_library("relucl")
    if found:
        candidates.append(found)
    for name in candidates:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
            if explicit and name == explicit:
                break  # an explicit path that fails is an error, not a hint
    raise ImportError("relucl: cannot load the shared library; set RELUCL_LIBRARY to the full "
                      "path of librelucl.so. Tried: " + "; ".join(tried))


lib = _load()


class Tensor_t(Structure):
    _fields_ = [("buffer", c_void_p), ("offset", c_size_t), ("ndim", c_int),
                ("dims", c_size_t * MAX_DIMS)]


class Activation_t(Structure):
    _fields_ = [("kind", c_int), ("alpha", c_float)]


class Dense_t(Structure):
    _fields_ = [("act", Activation_t), ("w", POINTER(Tensor_t)), ("b", POINTER(Tensor_t)),
                ("slope", POINTER(Tensor_t)), ("layout", c_int)]


class DenseGrads_t(Structure):
    _fields_ = [("dw", POINTER(Tensor_t)), ("db", POINTER(Tensor_t)),
                ("dslope", POINTER(Tensor_t)), ("accumulate", c_int),
                ("dz", POINTER(Tensor_t))]


class Conv2d_t(Structure):
    _fields_ = [("stride", c_size_t * 2), ("pad", c_size_t * 2), ("dilation", c_size_t * 2),
                ("groups", c_size_t)]


class Pool2d_t(Structure):
    _fields_ = [("kind", c_int), ("kernel", c_size_t * 2), ("stride", c_size_t * 2),
                ("pad", c_size_t * 2)]


T = POINTER(Tensor_t)
ctx_p = c_void_p
status = c_int

_signatures = {
    "relucl_version": (c_char_p, []),
    "relucl_status_name": (c_char_p, [c_int]),
    "relucl_context_create_ex": (status, [c_char_p, POINTER(c_void_p), c_char_p, c_size_t]),
    "relucl_context_create_from_queue_ex": (status, [c_void_p, POINTER(c_void_p), c_char_p,
                                                     c_size_t]),
    "relucl_context_destroy": (None, [ctx_p]),
    "relucl_context_finish": (status, [ctx_p]),
    "relucl_context_error": (c_char_p, [ctx_p]),
    "relucl_context_device_name": (c_char_p, [ctx_p]),
    "relucl_context_queue": (c_void_p, [ctx_p]),
    "relucl_context_cl_context": (c_void_p, [ctx_p]),
    "relucl_context_wait_events": (status, [ctx_p, c_uint, POINTER(c_void_p)]),
    "relucl_context_record_event": (status, [ctx_p, POINTER(c_void_p)]),
    "relucl_tensor_wrap": (status, [c_void_p, c_size_t, c_int, POINTER(c_size_t), T]),
    "relucl_tensor_create": (status, [ctx_p, c_int, POINTER(c_size_t), T]),
    "relucl_tensor_wrap_host": (status, [ctx_p, c_void_p, c_int, POINTER(c_size_t), T]),
    "relucl_tensor_map_host": (status, [ctx_p, T, POINTER(c_void_p)]),
    "relucl_tensor_unmap_host": (status, [ctx_p, T, c_void_p]),
    "relucl_tensor_release": (None, [T]),
    "relucl_tensor_write": (status, [ctx_p, T, c_void_p]),
    "relucl_tensor_read": (status, [ctx_p, T, c_void_p]),
    "relucl_tensor_fill": (status, [ctx_p, T, c_float]),
    "relucl_activation_forward": (status, [ctx_p, Activation_t, T, T]),
    "relucl_activation_backward": (status, [ctx_p, Activation_t, T, T, T, T]),
    "relucl_prelu_forward": (status, [ctx_p, T, T, T]),
    "relucl_prelu_backward": (status, [ctx_p, T, T, T, T, T]),
    "relucl_gemm": (status, [ctx_p, c_int, c_int, c_float, T, T, c_float, T]),
    "relucl_gemm_batched": (status, [ctx_p, c_int, c_int, c_float, T, T, c_float, T]),
    "relucl_dense_forward": (status, [ctx_p, POINTER(Dense_t), T, T, T]),
    "relucl_dense_backward": (status, [ctx_p, POINTER(Dense_t), T, T, T, T, T,
                                       POINTER(DenseGrads_t)]),
    "relucl_conv2d_output_dims": (status, [ctx_p, POINTER(Conv2d_t), POINTER(c_size_t),
                                           POINTER(c_size_t), POINTER(c_size_t)]),
    "relucl_conv2d_forward": (status, [ctx_p, POINTER(Conv2d_t), c_int, Activation_t, T, T, T,
                                       T]),
    "relucl_conv2d_backward_data": (status, [ctx_p, POINTER(Conv2d_t), c_int, T, T, T]),
    "relucl_conv2d_backward_filter": (status, [ctx_p, POINTER(Conv2d_t), c_int, T, T, T, T,
                                               c_int]),
    "relucl_pool2d_output_dims": (status, [ctx_p, POINTER(Pool2d_t), POINTER(c_size_t),
                                           POINTER(c_size_t)]),
    "relucl_pool2d_forward": (status, [ctx_p, POINTER(Pool2d_t), T, T, T]),
    "relucl_pool2d_backward": (status, [ctx_p, POINTER(Pool2d_t), T, T, T]),
    "relucl_global_avg_pool_forward": (status, [ctx_p, T, T]),
    "relucl_global_avg_pool_backward": (status, [ctx_p, T, T]),
}

for _name, (_restype, _argtypes) in _signatures.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes
