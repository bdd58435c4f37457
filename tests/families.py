"""One model of every registry family at a small input, narrowed where the family allows it (XLA's compile time
grows with depth): shared by the XLA tests and the other-backend tests."""

FAMILIES = {
    "mlp": ((8,), {"dropout": 0.1}),
    "lenet5_bn": ((28, 28, 1), {}),
    "cnn4_bn": ((28, 28, 1), {}),
    "simple_cnn": ((16, 16, 1), {}),
    "alexnet": ((32, 32, 3), {"stem": "small", "width": 0.25}),
    "vgg11_bn": ((32, 32, 3), {"stem": "small", "width": 0.25}),
    "resnet8": ((32, 32, 3), {}),
    "preact_resnet18": ((32, 32, 3), {"stem": "small", "width": 0.25}),
    "densenet_bc_100": ((32, 32, 3), {"blocks": (2, 2, 2)}),
    "googlenet": ((32, 32, 3), {"stem": "small", "width": 0.25}),
}
