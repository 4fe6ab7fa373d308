"""cnnlesson.prepare_image, which episode 6's predict_image uses, on generated photographs."""
import numpy as np
import pytest
from PIL import Image

from cnnlesson.predict import prepare_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def stripes(colours, width_each, height, vertical=True):
    """An image of solid bands of colour, side by side (or stacked)."""
    bands = [np.full((height, width_each, 3), c, np.uint8) for c in colours]
    return np.concatenate(bands, axis=1 if vertical else 0)


def test_a_32x32_uint8_array_passes_unchanged():
    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = prepare_image(x)
    assert out.shape == (32, 32, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x)


def test_a_wide_photo_is_centre_cropped_not_squashed(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(stripes([RED, GREEN, BLUE], 64, 64)).save(path)  # 192 x 64
    out = prepare_image(path)
    # the centred square is the green band; squashing would keep red and blue at the sides
    np.testing.assert_array_equal(out, np.broadcast_to(np.float32(GREEN), (32, 32, 3)))


def test_a_tall_photo_is_centre_cropped_too():
    x = stripes([RED, GREEN, BLUE], 64, 64, vertical=False)  # 64 wide, 192 high
    np.testing.assert_array_equal(prepare_image(x), np.broadcast_to(np.float32(GREEN), (32, 32, 3)))


def test_downsampling_averages_areas_instead_of_picking_pixels():
    checker = ((np.indices((64, 64)).sum(axis=0) % 2) * 255).astype(np.uint8)
    out = prepare_image(np.stack([checker] * 3, axis=-1))
    # every output pixel covers two black and two white pixels: mid-grey, no aliasing
    assert np.all(np.abs(out - 127.5) <= 1)


def test_a_small_image_is_enlarged():
    out = prepare_image(np.full((16, 16, 3), 200, np.uint8))
    assert out.shape == (32, 32, 3)
    assert np.allclose(out, 200, atol=1)


def test_exif_orientation_of_phone_photos_is_applied(tmp_path):
    # stored 64 wide x 32 high, red left and blue right, with the tag "rotate 90
    # degrees clockwise to display" (orientation 6), as a phone held upright writes it
    stored = stripes([RED, BLUE], 32, 32)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    out = prepare_image(path)
    # displayed upright it is 32 wide x 64 high, red on top: its centred square has
    # red in the top half and blue in the bottom half (ignoring EXIF: left/right)
    top, bottom = out[:12].mean(axis=(0, 1)), out[-12:].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16"])
def test_other_modes_become_rgb(tmp_path, mode):
    img = Image.fromarray(np.full((40, 40, 3), (102, 102, 102), np.uint8))  # web-palette grey: no dithering
    if mode == "I;16":
        img = Image.fromarray(np.full((40, 40), 1000, np.uint16))
    else:
        img = img.convert(mode)
    path = tmp_path / ("img.tif" if mode == "CMYK" else "img.png")
    img.save(path)
    out = prepare_image(path)
    assert out.shape == (32, 32, 3)
    assert np.ptp(out, axis=-1).max() <= 2, "grey input must give three equal channels"


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)  # fully transparent black
    path = tmp_path / "logo.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    np.testing.assert_array_equal(prepare_image(path), 255)
    np.testing.assert_array_equal(prepare_image(rgba), 255)  # the same for an array


def test_grey_arrays_get_three_channels():
    grey = np.full((28, 28), 70, np.uint8)
    for x in (grey, grey[:, :, np.newaxis]):
        out = prepare_image(x)
        assert out.shape == (32, 32, 3) and np.allclose(out, 70, atol=1)


def test_an_array_scaled_to_0_1_is_refused_with_the_way_out():
    x = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="between 0 and 1.*multiply it by 255"):
        prepare_image(x)


@pytest.mark.parametrize("shape", [(32, 32, 2), (32, 32, 5), (4, 32, 32, 3), (32,)])
def test_a_wrong_channel_count_or_shape_is_refused(shape):
    with pytest.raises(ValueError, match="colour channels last"):
        prepare_image(np.zeros(shape, np.uint8))


def test_channels_first_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match=r"channels first.*np\.moveaxis"):
        prepare_image(np.zeros((3, 32, 32), np.uint8))


def test_out_of_range_values_are_refused():
    with pytest.raises(ValueError, match="between 0 and 255"):
        prepare_image(np.full((32, 32, 3), -1.5, np.float32))


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture")
    with pytest.raises(ValueError, match="not an image file.*JPEG or PNG"):
        prepare_image(path)


def test_a_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file at"):
        prepare_image(tmp_path / "missing.jpg")


def test_other_types_are_refused():
    with pytest.raises(TypeError, match="not list"):
        prepare_image([[0, 0, 0]])
