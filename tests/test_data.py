"""Robust image loading: odd modes, corrupt files, empty folders, and the dataset's crops."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from fast_style.io import NoImagesError, list_images, load_image, open_rgb, save_image, to_rgb
from fast_style.train.data import (
    ImageFolderDataset,
    preview_batch,
)


def write(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def test_cmyk_is_converted_to_rgb(tmp_path):
    path = write(tmp_path / "cmyk.jpg", Image.new("CMYK", (20, 10), (0, 255, 255, 0)))  # pure red
    image = open_rgb(path)
    assert image.mode == "RGB" and image.size == (20, 10)
    r, g, b = image.getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60


def test_rgba_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    image = open_rgb(write(tmp_path / "a.png", rgba))
    assert image.getpixel((4, 4)) == (255, 255, 255)
    assert image.getpixel((0, 0)) == (0, 0, 255)


def test_sixteen_bit_png_is_rescaled_not_clipped(tmp_path):
    array = np.full((6, 6), 32768, dtype=np.uint16)  # half of the 16-bit range
    path = write(tmp_path / "deep.png", Image.fromarray(array))
    assert Image.open(path).mode.startswith("I")
    value = open_rgb(path).getpixel((2, 2))
    assert value[0] == value[1] == value[2] and 125 <= value[0] <= 130


def test_grayscale_and_palette_become_rgb(tmp_path):
    gray = open_rgb(write(tmp_path / "g.png", Image.new("L", (5, 5), 100)))
    palette = open_rgb(write(tmp_path / "p.png", Image.new("RGB", (5, 5), (10, 200, 30)).convert("P")))
    assert gray.getpixel((1, 1)) == (100, 100, 100)
    assert palette.mode == "RGB" and palette.getpixel((1, 1))[1] > 150


def test_load_and_save_round_trip(tmp_path):
    image = torch.rand(1, 3, 9, 13)
    path = save_image(image, tmp_path / "sub" / "x.png")
    loaded = load_image(path)
    assert loaded.shape == (1, 3, 9, 13)
    assert (loaded - image).abs().max() <= 0.5 / 255 + 1e-6
    assert load_image(path, size=18).shape[-2:] == (18, 26)


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg at all")
    with pytest.raises(OSError, match="broken.jpg"):
        open_rgb(path)


def test_list_images_matches_extensions_case_insensitively(tmp_path):
    # One extension list for training, stylising and the baseline (fast_style.io.IMAGE_EXTENSIONS).
    for name in ["a.JPG", "b.jpeg", "c.Png", "d.webp", "e.BMP", "g.gif", "h.TIFF", "nested/f.jpg", "notes.txt", "x.psd"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    names = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert names == ["a.JPG", "b.jpeg", "c.Png", "d.webp", "e.BMP", "g.gif", "h.TIFF", "nested/f.jpg"]
    assert "nested/f.jpg" not in [p.name for p in list_images(tmp_path, recursive=False)]


def test_dataset_skips_corrupt_files_with_one_warning_each(photo_dir):
    (photo_dir / "zz_broken.jpg").write_bytes(b"\xff\xd8garbage")
    (photo_dir / "zz_empty.png").write_bytes(b"")
    write(photo_dir / "deep" / "cmyk.JPG", Image.new("CMYK", (30, 30)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = ImageFolderDataset(photo_dir, image_size=16)
    per_file = [w for w in caught if "skipping unreadable image" in str(w.message)]
    assert len(per_file) == 2
    assert len(dataset.skipped) == 2 and len(dataset) == 6
    assert any("2 of 8 image file(s)" in str(w.message) for w in caught)
    batch = torch.stack([dataset[i] for i in range(len(dataset))])
    assert batch.shape == (6, 3, 16, 16) and batch.min() >= 0 and batch.max() <= 1


def test_file_broken_after_indexing_is_replaced_by_the_next(tmp_path):
    write(tmp_path / "a.jpg", Image.new("RGB", (40, 40), (200, 10, 10)))
    write(tmp_path / "b.jpg", Image.new("RGB", (40, 40), (10, 10, 200)))
    dataset = ImageFolderDataset(tmp_path, image_size=16, random_crop=False)
    (tmp_path / "a.jpg").write_bytes(b"gone bad")  # e.g. a network share hiccup mid-training
    with pytest.warns(UserWarning, match="a.jpg"):
        item = dataset[0]
    assert item.shape == (3, 16, 16) and item[2].mean() > 0.5  # the blue image stood in
    assert [p.name for p in dataset.skipped] == ["a.jpg"]


def test_empty_folder_is_an_error_naming_it(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(NoImagesError, match=str(tmp_path)):
        ImageFolderDataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing")


def test_centre_crop_is_deterministic_and_preview_is_fixed(photo_dir):
    dataset = ImageFolderDataset(photo_dir, image_size=20, random_crop=False)
    assert torch.equal(dataset[0], dataset[0])
    preview = preview_batch(photo_dir, count=3, image_size=20)
    assert preview.shape == (3, 3, 20, 20)
    assert torch.equal(preview, preview_batch(photo_dir, count=3, image_size=20))


def test_to_rgb_leaves_rgb_alone():
    image = Image.new("RGB", (3, 3), (1, 2, 3))
    assert to_rgb(image) is image


def test_real_coco_folder(assets_dir):
    dataset = ImageFolderDataset(assets_dir / "coco" / "train2017", image_size=64)
    assert len(dataset) == 128 and not dataset.skipped
    assert dataset[0].shape == (3, 64, 64)


@pytest.mark.parametrize("random_crop", [True, False])
def test_an_extreme_aspect_ratio_is_cropped_before_it_is_resized(tmp_path, monkeypatch, random_crop):
    # Resizing a 4000×3 strip's shorter side to 16 first would make it 21333×16: memory grows with the
    # aspect ratio (a 65535×1 image: millions of pixels). The square is cut first, then resized.
    write(tmp_path / "strip.png", Image.new("RGB", (4000, 3), (9, 99, 9)))
    dataset = ImageFolderDataset(tmp_path, image_size=16, random_crop=random_crop)
    resized_from = []
    original = Image.Image.resize

    def spy(image, size, *args, **kwargs):
        resized_from.append(image.size)
        return original(image, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    item = dataset[0]
    assert item.shape == (3, 16, 16) and torch.allclose(item[:, 8, 8], torch.tensor([9, 99, 9]) / 255, atol=0.02)
    assert resized_from and all(max(size) <= 3 for size in resized_from), resized_from
