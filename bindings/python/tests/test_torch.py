"""relucl.torch's modules against torch.nn's: forward and every gradient, a few training
steps of a small model, and the inputs they refuse."""
import pytest
import torch
from torch.testing import assert_close

import relucl
import relucl.torch as rt

torch.manual_seed(0)


def compare(mine, theirs, *inputs, rtol=1e-5, atol=1e-5):
    """Runs both modules on copies of inputs with the same random upstream gradient; checks
    outputs, input gradients and parameter gradients."""
    theirs.load_state_dict(mine.state_dict())
    xs_a = [x.clone().requires_grad_() for x in inputs]
    xs_b = [x.clone().requires_grad_() for x in inputs]
    ya, yb = mine(*xs_a), theirs(*xs_b)
    assert_close(ya, yb, rtol=rtol, atol=atol)
    g = torch.randn_like(yb)
    ya.backward(g)
    yb.backward(g)
    for a, b in zip(xs_a, xs_b):
        assert_close(a.grad, b.grad, rtol=rtol, atol=atol)
    for (name, pa), (_, pb) in zip(mine.named_parameters(), theirs.named_parameters()):
        assert pa.shape == pb.shape, name
        assert_close(pa.grad, pb.grad, rtol=rtol, atol=atol, msg=lambda m: name + ": " + m)


def special_input(*shape):
    x = torch.randn(*shape) * 4
    flat = x.view(-1)
    specials = torch.tensor([0.0, -0.0, 6.0, 1e-40, -1e-40, 3.0])
    n = min(flat.numel(), specials.numel())
    flat[:n] = specials[:n]
    return x


@pytest.mark.parametrize("mine,theirs", [
    (rt.ReLU(), torch.nn.ReLU()),
    (rt.LeakyReLU(), torch.nn.LeakyReLU()),
    (rt.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (rt.ELU(), torch.nn.ELU()),
    (rt.ELU(0.5), torch.nn.ELU(0.5)),
    (rt.ReLU6(), torch.nn.ReLU6()),
])
@pytest.mark.parametrize("shape", [(1,), (7, 13), (2, 3, 5, 7), (2, 3, 2, 2, 3)])
def test_activations(mine, theirs, shape):
    # torch's float32 ELU near 0 is a few ulp off (exp(x) - 1); see the float64 test below.
    compare(mine, theirs, special_input(*shape), rtol=1e-5, atol=1e-30)


def test_elu_is_within_two_ulp_of_float64():
    x = torch.linspace(-10, 1, 100001)
    got = rt.ELU(0.5)(x).double()
    want = torch.nn.functional.elu(x.double(), 0.5)
    assert_close(got, want, rtol=2.5e-7, atol=1e-38)


def test_activation_nan_propagates():
    x = torch.tensor([float("nan"), -1.0, 2.0])
    for mine, theirs in [(rt.ReLU(), torch.nn.ReLU()), (rt.ReLU6(), torch.nn.ReLU6()),
                         (rt.ELU(), torch.nn.ELU())]:
        assert_close(mine(x), theirs(x), equal_nan=True)


@pytest.mark.parametrize("mine,theirs", [
    (rt.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
    (rt.LeakyReLU(0.1, inplace=True), torch.nn.LeakyReLU(0.1, inplace=True)),
    (rt.ELU(inplace=True), torch.nn.ELU(inplace=True)),
    (rt.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
])
def test_inplace_activations_differentiate_from_the_output(mine, theirs):
    # In place needs a non-leaf input; the gradient then comes from the forward output.
    base = torch.randn(6, 11) * 4
    a, b = base.clone().requires_grad_(), base.clone().requires_grad_()
    ya, yb = mine(a * 1.0), theirs(b * 1.0)
    assert_close(ya, yb)
    g = torch.randn_like(yb)
    ya.backward(g)
    yb.backward(g)
    assert_close(a.grad, b.grad)


@pytest.mark.parametrize("num,shape", [(1, (7,)), (1, (4, 5)), (5, (4, 5)), (3, (2, 3, 4, 4)),
                                       (3, (2, 3, 2, 2, 2))])
def test_prelu(num, shape):
    mine = rt.PReLU(num, init=0.3)
    with torch.no_grad():
        mine.weight.uniform_(-1, 1)
    compare(mine, torch.nn.PReLU(num), torch.randn(*shape))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 13), (7, 13), (3, 4, 13), (0, 13)])
def test_linear(bias, shape):
    compare(rt.Linear(13, 6, bias=bias), torch.nn.Linear(13, 6, bias=bias), torch.randn(*shape))


def test_linear_leaves_the_upstream_gradient_alone():
    lin = rt.Linear(5, 3)
    x = torch.randn(4, 5, requires_grad=True)
    y = lin(x)
    g = torch.randn(4, 3)
    keep = g.clone()
    y.backward(g)
    assert torch.equal(g, keep)


@pytest.mark.parametrize("args", [
    dict(in_channels=3, out_channels=8, kernel_size=3),
    dict(in_channels=3, out_channels=16, kernel_size=3, padding=1, stride=2),
    dict(in_channels=4, out_channels=20, kernel_size=(3, 2), padding=(1, 0), dilation=(2, 1)),
    dict(in_channels=4, out_channels=8, kernel_size=3, groups=2, bias=False),
    dict(in_channels=2, out_channels=32, kernel_size=5, padding="same"),
    dict(in_channels=1, out_channels=4, kernel_size=1, padding="valid"),
])
def test_conv2d(args):
    x = torch.randn(2, args["in_channels"], 11, 9)
    compare(rt.Conv2d(**args), torch.nn.Conv2d(**args), x, rtol=1e-4, atol=1e-4)


def test_conv2d_unbatched():
    compare(rt.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3), torch.randn(3, 8, 8), rtol=1e-4,
            atol=1e-4)


@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(2, 3), stride=(1, 2))])
def test_maxpool2d(args):
    x = torch.randn(2, 3, 9, 8)
    compare(rt.MaxPool2d(**args), torch.nn.MaxPool2d(**args), x, rtol=0, atol=0)
    y, i = rt.MaxPool2d(return_indices=True, **args)(x)
    y2, i2 = torch.nn.MaxPool2d(return_indices=True, **args)(x)
    assert torch.equal(i, i2) and torch.equal(y, y2)


def test_state_dict_from_torch_modules_loads():
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.PReLU(4), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 26 * 26, 10))
    mine = torch.nn.Sequential(rt.Conv2d(1, 4, 3), rt.PReLU(4), torch.nn.Flatten(),
                               rt.Linear(4 * 26 * 26, 10))
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(2, 1, 28, 28)
    assert_close(mine(x), ref(x), rtol=1e-4, atol=1e-4)


def test_a_small_model_trains_like_torch():
    torch.manual_seed(1)

    def model(m):
        return torch.nn.Sequential(m.Conv2d(1, 6, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                                   torch.nn.Flatten(), m.Linear(6 * 7 * 7, 32),
                                   m.LeakyReLU(0.1), m.Linear(32, 10))

    ref, mine = model(torch.nn), model(rt)
    mine.load_state_dict(ref.state_dict())
    x, labels = torch.randn(32, 1, 14, 14), torch.randint(0, 10, (32,))
    losses = []
    for net in (ref, mine):
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        trace = []
        for _ in range(20):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), labels)
            loss.backward()
            opt.step()
            trace.append(loss.item())
        losses.append(trace)
    assert losses[1][-1] < losses[1][0] * 0.5  # it learns
    assert_close(torch.tensor(losses[1]), torch.tensor(losses[0]), rtol=1e-3, atol=1e-4)
    for (name, pa), (_, pb) in zip(mine.named_parameters(), ref.named_parameters()):
        assert_close(pa, pb, rtol=1e-3, atol=1e-4, msg=lambda m: name + ": " + m)


def test_bad_tensors_are_refused():
    lin = rt.Linear(4, 2)
    with pytest.raises(TypeError, match="float32"):
        lin(torch.randn(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="contiguous"):
        lin(torch.randn(4, 3).t())
    with pytest.raises(ValueError, match="CPU"):
        rt.ReLU()(torch.empty(3, device="meta"))
    with pytest.raises(relucl.Error, match="RELUCL_ERROR_SHAPE"):
        lin(torch.randn(3, 5))
    with pytest.raises(NotImplementedError):
        rt.MaxPool2d(2, ceil_mode=True)
