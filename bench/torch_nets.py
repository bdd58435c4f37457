"""PyTorch twins of four registry models, layer for layer, for `vs_torch` (needs the `bench` extra: torch 2.13 CPU).

Each twin has the same layers, shapes and parameter count as the Keras model it mirrors (tests check the counts):
`lenet5` (tanh, average pooling, "same" first conv at 28 px), `cnn4_bn`, `resnet20` (CIFAR layout, option-A
zero-padding shortcut) and `resnet18` with the small stem. Inputs are raw 0-255 pixels, rescaled inside the model
as ours are; outputs are logits (CrossEntropyLoss applies the softmax, as PyTorch users write it). One difference is the frameworks' own: a stride-2 3x3 convolution with "same"
padding pads one pixel after the image in TensorFlow and one on each side in PyTorch (padding=1), so the ResNets
sample shifted positions; the work per image is the same.
"""

import torch
from torch import nn
from torch.nn import functional as F

BN_EPSILON = 1.001e-5  # the resnet builders' value (keras's default 1e-3 for cnn4_bn)


class Rescale(nn.Module):
    def forward(self, x):
        return x * (1.0 / 255.0)


def lenet5(in_channels=1, num_classes=10, size=28):
    first_padding = 0 if size >= 32 else 2
    after = ((size + 2 * first_padding - 4) // 2 - 4) // 2
    return nn.Sequential(
        Rescale(),
        nn.Conv2d(in_channels, 6, 5, padding=first_padding), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * after * after, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, num_classes),
    )


def cnn4_bn(in_channels=1, num_classes=10, widths=(32, 64, 128, 256)):
    layers, channels = [Rescale()], in_channels
    for i, filters in enumerate(widths):
        layers += [nn.Conv2d(channels, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters, eps=1e-3),
                   nn.ReLU(inplace=True)]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
        channels = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by the stride, zero-pad the new channels (half before, half after, as ours)."""

    def __init__(self, filters, stride):
        super().__init__()
        self.filters, self.stride = filters, stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        extra = self.filters - x.shape[1]
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


class BasicBlock(nn.Module):
    def __init__(self, channels, filters, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=BN_EPSILON)
        self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters, eps=BN_EPSILON)
        if stride == 1 and channels == filters:
            self.skip = nn.Identity()
        elif shortcut == "pad":
            self.skip = ZeroPadShortcut(filters, stride)
        else:
            self.skip = nn.Sequential(nn.Conv2d(channels, filters, 1, stride, bias=False),
                                      nn.BatchNorm2d(filters, eps=BN_EPSILON))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.skip(x), inplace=True)


class SmallResNet(nn.Module):
    """3x3 stride-1 stem (no pooling), basic-block stages, global average pooling, linear classifier."""

    def __init__(self, stages, filters, shortcut, in_channels=3, num_classes=10):
        super().__init__()
        self.rescale = Rescale()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, filters[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(filters[0], eps=BN_EPSILON), nn.ReLU(inplace=True))
        blocks, channels = [], filters[0]
        for s, (n, width) in enumerate(zip(stages, filters)):
            for b in range(n):
                stride = 2 if (b == 0 and s > 0) else 1
                blocks.append(BasicBlock(channels, width, stride, shortcut))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(self.rescale(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet20(in_channels=3, num_classes=10):
    return SmallResNet((3, 3, 3), (16, 32, 64), "pad", in_channels, num_classes)


def resnet18_small(in_channels=3, num_classes=10):
    return SmallResNet((2, 2, 2, 2), (64, 128, 256, 512), "conv", in_channels, num_classes)


def count_params(model):
    return sum(p.numel() for p in model.parameters())
