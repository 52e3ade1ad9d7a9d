"""Which VGG layers the losses read: named sets, importable without torch (the options check against them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerSet:
    content: str
    style: tuple[str, ...]

    @property
    def all(self) -> list[str]:
        return sorted({self.content, *self.style})


#: Gatys et al.'s choice (conv5_1 left out: the shared VGG16 stops at relu4_3), for optimising images.
GATYS = LayerSet(content="relu4_2", style=("relu1_1", "relu2_1", "relu3_1", "relu4_1"))
#: Johnson et al.'s choice, for training and evaluating style networks.
JOHNSON = LayerSet(content="relu2_2", style=("relu1_2", "relu2_2", "relu3_3", "relu4_3"))

__all__ = ["GATYS", "JOHNSON", "LayerSet"]
