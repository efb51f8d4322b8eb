"""LightningDataModule feeding COCO-like photo folders to training.

Kept apart from ``fast_style.train.data`` so that the inference path (which loads and saves
images) never imports Lightning.
"""

from __future__ import annotations

import os

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from fast_style.assets import resolve_path_or_asset
from fast_style.train.data import ImageFolderDataset, preview_batch


class StyleDataModule(L.LightningDataModule):
    """Training crops from ``train_dir`` and a fixed preview batch from ``val_dir``.

    Args:
        train_dir: folder of training photos, or an asset name such as ``coco/train2017``.
        val_dir: folder (or asset name) the preview photos are taken from.
        image_size: side of the square training crops (Johnson et al.: 256).
        batch_size: photos per step per process (Johnson et al.: 4).
        num_workers: DataLoader worker processes.
        num_preview: fixed validation photos shown in TensorBoard during training.
        preview_size: side of the preview crops (default: ``image_size``).
    """

    def __init__(
        self,
        train_dir: str | os.PathLike = "coco/train2017",
        val_dir: str | os.PathLike = "coco/val2017",
        image_size: int = 256,
        batch_size: int = 4,
        num_workers: int = 2,
        num_preview: int = 4,
        preview_size: int | None = None,
    ) -> None:
        super().__init__()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(num_workers) < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.train_dir = resolve_path_or_asset(train_dir)
        self.val_dir = resolve_path_or_asset(val_dir)
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.num_preview = int(num_preview)
        self.preview_size = int(preview_size or image_size)
        self.train_set: ImageFolderDataset | None = None
        self._preview: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = ImageFolderDataset(self.train_dir, self.image_size, random_crop=True)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(self.train_set) >= self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def preview_batch(self) -> Tensor:
        """(num_preview, 3, S, S) fixed, centre-cropped validation photos in [0, 1]."""
        if self._preview is None:
            self._preview = preview_batch(self.val_dir, self.num_preview, self.preview_size)
        return self._preview
