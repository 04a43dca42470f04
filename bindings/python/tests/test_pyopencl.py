"""relucl on pyopencl's context, queues, buffers and events."""
import numpy as np
import pytest

import relucl

cl = pytest.importorskip("pyopencl")


@pytest.fixture(scope="module")
def clctx():
    name = relucl.Context().device_name  # the device relucl picks by default
    for platform in cl.get_platforms():
        for device in platform.get_devices():
            if device.name == name:
                return cl.Context([device])
    pytest.fail("pyopencl does not list relucl's device %r" % name)


def test_ops_on_pyopencl_buffers_and_queue(clctx):
    queue = cl.CommandQueue(clctx)
    ctx = relucl.Context.from_pyopencl(queue)
    assert ctx.queue_ptr == queue.int_ptr  # an in-order queue is used as it is
    x = np.random.default_rng(1).standard_normal(1031).astype(np.float32)
    mf = cl.mem_flags
    bx = cl.Buffer(clctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=x)
    by = cl.Buffer(clctx, mf.READ_WRITE, size=x.nbytes)
    relucl.activation_forward(ctx, relucl.Tensor.from_pyopencl(ctx, bx, (1031,)), "relu",
                              out=relucl.Tensor.from_pyopencl(ctx, by, (1031,)))
    out = np.empty_like(x)
    cl.enqueue_copy(queue, out, by)  # same queue: ordered without events
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_events_order_relucl_against_another_queue(clctx):
    producer = cl.CommandQueue(clctx)
    ctx = relucl.Context.from_pyopencl(cl.CommandQueue(clctx))
    old = np.full(4096, -1.0, np.float32)
    new = np.arange(4096, dtype=np.float32) - 100
    mf = cl.mem_flags
    bx = cl.Buffer(clctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=old)
    by = cl.Buffer(clctx, mf.READ_WRITE, size=old.nbytes)
    gate = cl.UserEvent(clctx)
    written = cl.enqueue_copy(producer, bx, new, wait_for=[gate], is_blocking=False)
    producer.flush()
    ctx.wait_events([written])
    relucl.activation_forward(ctx, relucl.Tensor.from_pyopencl(ctx, bx, (4096,)), "relu",
                              out=relucl.Tensor.from_pyopencl(ctx, by, (4096,)))
    done = ctx.record_event()
    assert isinstance(done, cl.Event)
    assert done.command_execution_status != cl.command_execution_status.COMPLETE
    gate.set_status(cl.command_execution_status.COMPLETE)
    out = np.empty_like(new)
    cl.enqueue_copy(producer, out, by, wait_for=[done])
    np.testing.assert_array_equal(out, np.maximum(new, 0))


def test_out_of_order_queue_and_bad_events(clctx):
    props = cl.command_queue_properties.OUT_OF_ORDER_EXEC_MODE_ENABLE
    try:
        ooo = cl.CommandQueue(clctx, properties=props)
    except cl.Error:
        pytest.skip("this device has no out-of-order queues")
    ctx = relucl.Context.from_pyopencl(ooo)
    assert ctx.queue_ptr != ooo.int_ptr  # relucl's own in-order queue beside it
    x = np.linspace(-3, 3, 999, dtype=np.float32)
    mf = cl.mem_flags
    bx = cl.Buffer(clctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=x)
    t = relucl.Tensor.from_pyopencl(ctx, bx, (999,))
    relucl.activation_forward(ctx, t, "leaky_relu", 0.5, out=t)
    relucl.activation_forward(ctx, t, "clipped_relu", 1.0, out=t)
    done = ctx.record_event()
    out = np.empty_like(x)
    cl.enqueue_copy(ooo, out, bx, wait_for=[done])
    np.testing.assert_array_equal(out, np.clip(np.where(x > 0, x, 0.5 * x), 0, 1))

    other = cl.Context(clctx.devices)
    foreign = cl.UserEvent(other)
    with pytest.raises(relucl.Error) as e:
        ctx.wait_events([foreign])
    assert "events[0] belongs to another OpenCL context" in str(e.value)
    foreign.set_status(cl.command_execution_status.COMPLETE)
    # A buffer of another OpenCL context is refused, nothing enqueued.
    alien = cl.Buffer(other, mf.READ_WRITE, size=16)
    with pytest.raises(relucl.Error) as e:
        relucl.activation_forward(ctx, relucl.Tensor.from_pyopencl(ctx, alien, (4,)), "relu")
    assert "context" in str(e.value)
