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
from fast_style.errors import InvalidValueError
from fast_style.train.data import MIN_IMAGE_SIZE, ImageFolderDataset, preview_batch


class StyleDataModule(L.LightningDataModule):
    """Training crops from ``train_dir`` and a fixed preview batch from ``val_dir``.

    The constructor makes the cheap checks (sizes, worker count, that the folders exist), so a
    bad setting fails before the VGG is loaded; the folders are read in :meth:`setup`, which
    Lightning calls.

    Args:
        train_dir: folder of training photos, or an asset name such as ``coco/train2017``.
        val_dir: folder (or asset name) the preview photos are taken from.
        image_size: side of the square training crops (Johnson et al.: 256).
        batch_size: photos per step per process (Johnson et al.: 4).
        num_workers: DataLoader worker processes.
        num_preview: fixed validation photos for :class:`fast_style.train.callbacks.PreviewImages` (0: none).
        preview_size: side of the preview crops (default: ``image_size``).

    Attributes:
        train_set: the training photos, after ``setup``.
        preview_photos: (num_preview, 3, S, S) centre-cropped photos in [0, 1] after ``setup``;
            ``None`` before, or with ``num_preview=0``.
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
        for label, value, least in (("image_size", image_size, MIN_IMAGE_SIZE), ("batch_size", batch_size, 1),
                                    ("num_workers", num_workers, 0), ("num_preview", num_preview, 0)):
            if int(value) < least:
                raise InvalidValueError(f"{label} must be >= {least}, got {value}")
        if preview_size is not None and int(preview_size) < MIN_IMAGE_SIZE:
            raise InvalidValueError(f"preview_size must be >= {MIN_IMAGE_SIZE} (or None: image_size), got {preview_size}")
        self.train_dir = resolve_path_or_asset(train_dir)
        self.val_dir = resolve_path_or_asset(val_dir)
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.num_preview = int(num_preview)
        self.preview_size = int(preview_size or image_size)
        self.train_set: ImageFolderDataset | None = None
        self.preview_photos: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = ImageFolderDataset(self.train_dir, self.image_size, random_crop=True)
        if self.preview_photos is None and self.num_preview > 0:
            self.preview_photos = preview_batch(self.val_dir, self.num_preview, self.preview_size)

    def train_dataloader(self) -> DataLoader:
        if self.train_set is None:
            raise RuntimeError("StyleDataModule.setup() has not run; hand the datamodule to trainer.fit")
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(self.train_set) >= self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
