"""The shipped networks: float16 files that load as float32, ``--style``, ``--list-styles``, ``load_model(name)``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import read_card, read_checkpoint
from fast_style.errors import InputFileError, InvalidValueError
from fast_style.infer.stylize import load_model, stylize
from fast_style.infer.stylize_cli import main
from fast_style.io import load_image
from fast_style.zoo import (
    MAX_ZOO_BYTES,
    ZOO_DIR,
    ResolvedStyle,
    UnknownStyleError,
    add_to_zoo,
    available_styles,
    blend_networks,
    describe,
    load,
    multi_style_networks,
    network_styles,
    parse_spec,
    resolve,
    served_styles,
    serving_choices,
    zoo_path,
)
from tests.helpers import CONFIG_DIR, REPO_ROOT

# The one-style networks trained on their painting (named after their style), the small ones distilled
# from them (``<style>-small``, their teacher's output as the loss) and the multi-style ones.
_ONE_STYLE = [name for name in available_styles() if len(network_styles(zoo_path(name))) == 1]
STUDENTS = [name for name in _ONE_STYLE if read_card(zoo_path(name)).lineage.distilled_from]
SHIPPED = [name for name in _ONE_STYLE if name not in STUDENTS]
MULTI = multi_style_networks()
# What "unknown style" errors list: every plain name served, one-style networks first, then the serving choices.
SERVED_NAMES = _ONE_STYLE + [style for style in sorted(serving_choices()) if style not in _ONE_STYLE]
SERVED_NAMES += [style for network in MULTI for style in network_styles(zoo_path(network)) if style not in SERVED_NAMES]


def _style_config(name: str):
    from omegaconf import OmegaConf

    return OmegaConf.load(CONFIG_DIR / "style" / f"{name}.yaml")


def test_every_style_config_is_served_but_the_held_out_paintings():
    configs = sorted(path.stem for path in (CONFIG_DIR / "style").glob("*.yaml"))
    held_out = [name for name in configs if _style_config(name).get("held_out")]
    for name in configs:
        if name in held_out:
            # Kept out of every shipped network: experiment=new_style is measured on paintings it never saw.
            assert not any(name in network_styles(zoo_path(network)) for network in available_styles()), name
        else:
            # Served by a network holding it, or by a student of it (shipwreck-small serves shipwreck).
            served = resolve(name, allow_path=False)
            assert name in network_styles(served.path) or parse_spec(served.network).terms[0].style == name, name
    assert set(SHIPPED) <= set(configs)


@pytest.mark.parametrize("network", MULTI)
def test_each_style_of_a_multi_style_network_was_trained_with_its_style_config(network: str):
    from fast_style.train.compose import style_entry

    stored = read_checkpoint(zoo_path(network))
    assert len(stored.model_args["styles"]) >= 12
    for style in stored.model_args["styles"]:
        entry, loss = style_entry(style, CONFIG_DIR), stored.card.loss_for(style)
        assert (loss.style_image, loss.style_weight) == (entry["image"], entry["style_weight"]), style
        model = load_model(f"{style}@{network}")
        photo = torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(0))
        out = stylize(model, photo)
        assert torch.isfinite(out).all() and (out - photo).abs().mean() > 0.05, style


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_network_was_trained_with_its_style_configs_weights(name: str):
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import PerceptualLossSettings

    config, info, defaults = OmegaConf.load(CONFIG_DIR / "style" / f"{name}.yaml"), describe(name), PerceptualLossSettings()
    assert (info["style_weight"], info["content_weight"], info["tv_weight"], info["style_size"]) == (
        config.style_weight, defaults.content_weight, defaults.tv_weight, defaults.style_size)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_network_was_trained_with_the_loss_its_config_composes(name: str):
    # The stored loss group and today's composed config with style=<name> give the same loss:
    # what gatys.py/compare.py rebuild is what trained it.
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fast_style.loss.perceptual import PerceptualLossSettings

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        loss = OmegaConf.to_container(compose("train", overrides=[f"style={name}"]).loss, resolve=True)
    assert read_checkpoint(zoo_path(name)).card.loss == PerceptualLossSettings.from_mapping(loss)


def test_each_small_network_is_judged_by_its_teachers_loss_and_named_after_its_style():
    """A student never saw the painting: its file records its teacher's loss, which N* judges it by.

    Every one-style file is either trained on its painting (a style config of its name) or a student.
    """
    assert sorted(SHIPPED + STUDENTS) == sorted(_ONE_STYLE) and all((CONFIG_DIR / "style" / f"{name}.yaml").is_file()
                                                                    for name in SHIPPED)
    for name in STUDENTS:
        teacher = describe(name)["teacher"]
        # The record names the network the student learned from, not a name that a later serving choice moves
        # (shipwreck-small was distilled from shipwreck@styles15, and "shipwreck" now serves the student itself).
        assert resolve(teacher).network != name, f"{name}'s teacher {teacher!r} is {name} itself"
        teacher_model = load(teacher)
        teacher_loss = read_checkpoint(resolve(teacher).path).card.loss_for(teacher_model.style_name)
        assert read_checkpoint(zoo_path(name)).card.loss == teacher_loss, name
        assert name == f"{teacher_model.style_name}-small" and len(network_styles(zoo_path(name))) == 1, name


def test_add_to_zoo_stores_float16_and_loading_restores_float32(tiny_checkpoint: Path, tiny_model, tmp_path: Path):
    zoo = tmp_path / "zoo"
    path = add_to_zoo(tiny_checkpoint, zoo, note="test")
    assert path == zoo / "tiny.pth" and available_styles(zoo) == ["tiny"]
    stored = read_checkpoint(path)
    assert {value.dtype for value in stored.state_dict.values() if value.is_floating_point()} == {torch.float16}
    assert stored.meta["zoo"] == {"dtype": "float16", "note": "test"}
    loaded = load_model(path, device="cpu")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    photo = torch.rand(1, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    # float16 weights change the output by rounding only.
    expected = stylize(tiny_model, photo)
    assert torch.allclose(stylize(loaded, photo), expected, atol=2e-2)


def test_add_to_zoo_refuses_non_finite_weights(tiny_checkpoint: Path, tmp_path: Path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["style"] = "broken"
    next(iter(payload["state_dict"].values())).view(-1)[0] = float("nan")
    broken = tmp_path / "broken.pth"
    torch.save(payload, broken)  # written by hand: the project's own writer refuses NaN weights
    with pytest.raises(ValueError, match="non-finite"):
        add_to_zoo(broken, tmp_path / "zoo")
    assert not (tmp_path / "zoo" / "broken.pth").exists()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_network_is_small_float16_and_stylises(name: str):
    path = zoo_path(name)
    assert path.stat().st_size <= MAX_ZOO_BYTES
    stored = read_checkpoint(path)
    assert stored.style == name and stored.source == "inference"
    assert all(v.dtype == torch.float16 for v in stored.state_dict.values() if v.is_floating_point())
    info = describe(name)
    assert info["steps"] > 0 and info["style_weight"] > 0 and info["crop"] > 0 and info["machine"]
    model = load_model(path, device="cpu")  # the file: its plain name may be served by another network (a student)
    assert model.style_name == name
    photo = torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(0))
    out = stylize(model, photo)
    assert out.shape == photo.shape and torch.isfinite(out).all()
    # A trained network changes the photo (a broken or untrained one would give grey or the input).
    assert (out - photo).abs().mean() > 0.05 and out.std() > 0.05


def test_load_model_by_name_unknown_name_lists_the_shipped_styles():
    with pytest.raises(UnknownStyleError, match=f"unknown style 'no_such_style'; shipped styles: {', '.join(SERVED_NAMES)}"):
        load_model("no_such_style")
    with pytest.raises(UnknownStyleError, match="shipped styles"):
        zoo_path("../checkpoint")


def test_a_file_wins_over_a_zoo_name(tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    Path(SHIPPED[0]).write_bytes(tiny_checkpoint.read_bytes())
    assert load_model(SHIPPED[0]).style_name == "tiny"


def test_cli_style_stylises_with_the_shipped_network(tmp_path: Path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (48, 36), (200, 120, 40)).save(photo)
    out = tmp_path / "out.png"
    assert main(["--style", SHIPPED[0], "--input", str(photo), "--output", str(out), "--quiet"]) == 0
    with Image.open(out) as image:
        assert image.size == (48, 36)
    expected = stylize(load_model(SHIPPED[0]), load_image(photo))
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6


def test_cli_unknown_style_and_missing_network_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 32)).save(photo)
    assert main(["--style", "nope", "--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    assert f"unknown style 'nope'; shipped styles: {', '.join(SERVED_NAMES)}" in capsys.readouterr().err
    assert main(["--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    assert "--style NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--style", SHIPPED[0], "--ckpt", "x.pth", "--input", str(photo), "--output", "o.png"])


def test_cli_list_styles_names_each_network_and_its_settings(capsys: pytest.CaptureFixture):
    assert main(["--list-styles"]) == 0
    out = capsys.readouterr().out
    assert f"a blend, --style a:0.7,b:0.3, mixes the styles in {blend_networks()[0]}" in out.splitlines()[0]
    served = served_styles()
    header = next(line for line in out.splitlines() if line.split()[:1] == ["name"])
    steps_end = header.index("steps") + len("steps")
    for name in served:
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        # Columns line up under the header however long a network's name is.
        assert line[steps_end - 1] != " " and line[steps_end] == " ", line
        info = describe(name)
        columns = line.split()
        assert columns[1] == info["network"] == served[name].network and columns[2] == str(info["steps"] or "-")
        if info["style_weight"] is None:  # a stored style of the arbitrary-style network: no loss of its own
            assert columns[3] == "-" and "embedding" in line and "/style" not in line
        else:
            assert f" {info['style_weight']:g} " in line and info["precision"] in line
        assert f"  {info['painting_status']}  " in line and info["painting_status"] != "not recorded"


def test_every_style_config_has_its_painting_status_as_the_mirror_gives_it(assets_dir: Path):
    """--list-styles says each painting's status: it must be the mirror README's word for that file."""
    from fast_style.zoo.paintings import PAINTINGS, painting_status

    mirror = {}
    for row in (assets_dir / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) == 4 and re.search(r"\.(jpg|png)$", cells[0]):
            for file in cells[0].split(","):
                mirror[Path(file.strip()).stem] = re.sub(r"\s*\([^)]*\)", "", cells[2])
    styles = sorted(path.stem for path in (CONFIG_DIR / "style").glob("*.yaml"))
    assert set(PAINTINGS) == set(styles) <= set(mirror)
    for style in styles:
        assert PAINTINGS[style].status == mirror[style], style
    assert painting_status("candy-small") == painting_status("candy") and painting_status("mine") == "not recorded"


# The resolver: what a user types -> the network file and its style(s).


def test_the_zoo_imports_no_path():
    """fast_style/zoo/ is data under the paths: importing it (every module) loads nothing of infer/ or baseline/."""
    import pkgutil

    import fast_style.zoo

    modules = [f"fast_style.zoo.{m.name}" for m in pkgutil.iter_modules(fast_style.zoo.__path__)]
    code = (f"import sys; import fast_style.zoo; import {', '.join(modules)}; "
            "print([m for m in sys.modules if m.startswith(('fast_style.infer', 'fast_style.baseline'))])")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", result.stdout


def test_a_variant_resolves_to_its_own_file_and_style_and_is_listed(tmp_path: Path, tiny_model):
    """``tiny-small`` (a network distilled from tiny) is its own one-style file: --style and describe find it."""
    from fast_style.checkpoint import save_inference_checkpoint

    folder = tmp_path / "zoo"
    for name in ("tiny", "tiny-small"):
        add_to_zoo(save_inference_checkpoint(
            tiny_model, tmp_path / f"{name}.pth", style=name,
            config={"model": {}, "loss": {"style_image": "styles/candy.jpg", "style_weight": 1.0},
                    "module": {"teacher": "tiny"} if name != "tiny" else {}}), folder)
    resolved = resolve("tiny-small", zoo_dir=folder)
    assert resolved.path == folder / "tiny-small.pth" and resolved.styles == (("tiny-small", 1.0),)
    assert resolve("tiny", zoo_dir=folder).path == folder / "tiny.pth"
    assert describe("tiny-small", zoo_dir=folder)["teacher"] == "tiny"
    assert set(served_styles(folder)) == {"tiny", "tiny-small"}


def test_a_shipped_name_resolves_to_its_file_without_reading_it():
    resolved = resolve(SHIPPED[0])
    assert resolved.path == zoo_path(SHIPPED[0]) and resolved.network == SHIPPED[0]
    assert resolved.styles == ((SHIPPED[0], 1.0),) and resolved.style == SHIPPED[0]
    assert resolve(resolved) is resolved


@pytest.mark.parametrize(("text", "terms"), [
    ("candy", [("candy", "candy", None, 1.0)]),
    ("candy-small", [("candy", "candy-small", "small", 1.0)]),
    ("mosaic@styles9", [("mosaic", "styles9", None, 1.0)]),
    ("candy:3,mosaic:1", [("candy", "candy", None, 0.75), ("mosaic", "mosaic", None, 0.25)]),
    ("a@net-fast:0,b@net-fast:2", [("a", "net-fast", "fast", 0.0), ("b", "net-fast", "fast", 1.0)]),
])
def test_the_spec_grammar(text, terms):
    parsed = parse_spec(text)
    assert [(t.style, t.network, t.variant, t.weight) for t in parsed.terms] == terms
    assert parsed.is_blend == (len(terms) > 1)


@pytest.mark.parametrize(("text", "message"), [
    ("candy:x,mosaic:1", "weight 'x' is not a non-negative number"),
    ("candy:-1,mosaic:1", "weight '-1' is not a non-negative number"),
    ("candy:nan,mosaic:1", "weight 'nan'"),
    ("candy:0,mosaic:0", "the weights sum to zero"),
    ("candy,,mosaic", "an empty term is not a style"),
    ("candy:0.5", "a weight needs a blend"),
    ("candy:1,candy:1", "appears twice"),
    # A variant paints its network's style: no blend of candy with itself.
    ("candy-small:0.5,candy:0.5", "the style 'candy' appears twice (as 'candy-small' and 'candy'"),
    ("candy:0.5,candy-small:0.5", "the style 'candy' appears twice (as 'candy' and 'candy-small'"),
    ("can dy", "'can dy' is not a style"),
])
def test_a_spec_that_breaks_the_grammar_names_itself(text, message):
    with pytest.raises(InvalidValueError, match=re.escape(message)) as error:
        resolve(text)
    assert repr(text) in str(error.value)


def _one_style_zoo() -> Path:
    """The package's one-style networks only (what blends of separate networks are refused against)."""
    return ZOO_DIR if not MULTI else _copy_of_one_style_files()


def _copy_of_one_style_files() -> Path:
    import shutil
    import tempfile

    from fast_style.zoo.index import ZooIndex, read_index, write_index

    folder = Path(tempfile.mkdtemp(prefix="one_style_zoo_"))
    for name in SHIPPED:
        shutil.copy(zoo_path(name), folder)
    write_index(folder, ZooIndex({name: read_index(ZOO_DIR).networks[name] for name in SHIPPED}))
    return folder


def test_what_the_zoo_does_not_ship_is_one_error_listing_what_it_has():
    listing = f"shipped styles: {', '.join(SERVED_NAMES)}"
    with pytest.raises(UnknownStyleError, match=re.escape(f"unknown style 'nope'; {listing}")):
        resolve("nope")
    shipped_variants = ", ".join(sorted(path.stem for path in ZOO_DIR.glob("candy-*.pth"))) or "none"
    variant = f"no variant 'huge' of 'candy' is shipped (variants shipped: {shipped_variants}); {listing}"
    with pytest.raises(UnknownStyleError, match=re.escape(variant)):
        resolve("candy-huge")
    network = "unknown network 'styles9' in 'mosaic@styles9'; networks that blend shipped: "
    with pytest.raises(UnknownStyleError, match=re.escape(network)):
        resolve("mosaic@styles9")
    one_style = "unknown style 'mosaic' in 'mosaic@candy': network 'candy' holds candy"
    with pytest.raises(UnknownStyleError, match=re.escape(one_style)):
        resolve("mosaic@candy")
    with pytest.raises(InvalidValueError, match=re.escape("cannot blend 'candy:0.7,udnie:0.3'")) as blend:
        resolve("candy:0.7,udnie:0.3", zoo_dir=_one_style_zoo())
    assert "no shipped network holds all of candy, udnie" in str(blend.value)
    # --style is the zoo only: a path there is an unknown style that says where files go.
    with pytest.raises(UnknownStyleError, match="--ckpt"):
        resolve("checkpoints/candy.pth", allow_path=False)
    with pytest.raises(InputFileError, match="checkpoint 'checkpoints/candy.pth' does not exist"):
        resolve("checkpoints/candy.pth")


def test_a_variant_and_a_named_style_resolve_once_their_file_is_shipped(tiny_checkpoint: Path, tmp_path: Path):
    from fast_style.checkpoint import read_card
    from fast_style.zoo.add import zoo_entry
    from fast_style.zoo.index import ZooIndex, write_index

    # A variant whose file records the style it was trained under (tiny), registered by hand.
    zoo = tmp_path / "zoo"
    add_to_zoo(tiny_checkpoint, zoo)
    (zoo / "tiny.pth").rename(zoo / "tiny-small.pth")
    write_index(zoo, ZooIndex({"tiny-small": zoo_entry("tiny-small", read_card(zoo / "tiny-small.pth"))}))
    variant = resolve("tiny-small", zoo_dir=zoo)
    assert variant.path == zoo / "tiny-small.pth" and variant.network == "tiny-small" and variant.style == "tiny"
    assert resolve("tiny@tiny-small", zoo_dir=zoo).styles == (("tiny", 1.0),)
    with pytest.raises(UnknownStyleError, match="variants shipped: tiny-small"):
        resolve("tiny-big", zoo_dir=zoo)
    with pytest.raises(UnknownStyleError, match="network 'tiny-small' holds tiny"):
        resolve("tiny@tiny-small:0.5,other@tiny-small:0.5", zoo_dir=zoo)


def test_load_is_the_network_the_spec_names(tiny_checkpoint: Path):
    model = load(SHIPPED[0])
    assert model.style_name == SHIPPED[0] and not model.training
    assert load(str(tiny_checkpoint)).style_name == "tiny"
    photo = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(3))
    assert torch.equal(stylize(model, photo), stylize(load_model(SHIPPED[0]), photo))


def test_load_refuses_a_blend_of_a_one_style_file_rather_than_ignoring_its_weights():
    blend = ResolvedStyle("candy:0.5,mosaic:0.5", zoo_path("candy"), "candy", (("candy", 0.5), ("mosaic", 0.5)))
    with pytest.raises(InvalidValueError, match="'candy:0.5,mosaic:0.5': candy.pth holds one style"):
        load(blend)


def test_cli_and_python_blend_two_styles_in_the_network_that_serves_blends(tmp_path: Path, capsys):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 32), (180, 90, 60)).save(photo)
    out = tmp_path / "blend.png"
    assert main(["--style", "candy:0.5,udnie:0.5", "--input", str(photo), "--output", str(out), "--quiet"]) == 0
    blend = load_model("candy:0.5,udnie:0.5")
    assert resolve("candy:0.5,udnie:0.5").network == blend_networks()[0]
    expected = stylize(blend, load_image(photo))
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6
    network = resolve("candy:0.5,udnie:0.5").network
    ends = [stylize(load_model(f"{style}@{network}"), load_image(photo)) for style in ("candy", "udnie")]
    assert min((expected - end).abs().mean() for end in ends) > 0.01
    for bad in ["candy:-1,udnie:2", "candy:0.5,,udnie:0.5", "candy:0.5,nope:0.5"]:
        assert main(["--style", bad, "--input", str(photo), "--output", str(tmp_path / "x.png")]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_the_arbitrary_network_serves_blends_and_the_plain_names_the_registry_gives_it():
    from fast_style.zoo.index import read_index

    entry = read_index(ZOO_DIR).networks["arbitrary"]
    assert entry.family == "arbitrary" and entry.is_multi_style and not entry.serves_by_name
    assert "arbitrary" not in available_styles() and "arbitrary" not in multi_style_networks()
    given = {style for style, network in serving_choices().items() if network == "arbitrary"}
    assert {name for name, spec in served_styles().items() if spec.network == "arbitrary"} == given
    assert resolve("candy").network != "arbitrary" and resolve("candy:0.5,mosaic:0.5").network == "arbitrary"
    # A stored style the registry does not serve by name stays STYLE@arbitrary.
    with pytest.raises(UnknownStyleError, match="unknown style 'brushstrokes'"):
        resolve("brushstrokes")
    from fast_style.checkpoint import model_from_checkpoint

    folded = load("candy@arbitrary")
    network = model_from_checkpoint(read_checkpoint(zoo_path("arbitrary")))
    photo = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(folded(photo), network.fold(network.style_embedding("candy"))(photo))


def test_the_served_arbitrary_network_is_the_import_with_only_its_transform_network_tuned():
    """The fine-tune (issue #34) froze the style predictor and the stored embeddings: what a painting is embedded
    as is the import's, bit for bit, and only the network that paints changed. Both ship; blends and
    ``--style-image`` take the tuned one, and en_campo_gris stays on the import (its black, docs/serving.md)."""
    from fast_style.zoo.index import read_index

    index = read_index(ZOO_DIR)
    tuned, imported = (read_checkpoint(zoo_path(name)) for name in ("arbitrary", "arbitrary_magenta"))
    assert tuned.model_args == imported.model_args and tuned.state_dict.keys() == imported.state_dict.keys()
    painting_side = [key for key in imported.state_dict if not key.startswith("transformer.")]
    assert painting_side and all(torch.equal(tuned.state_dict[key], imported.state_dict[key]) for key in painting_side)
    painter = [key for key in imported.state_dict if key.startswith("transformer.")]
    changed = [key for key in painter if not torch.equal(tuned.state_dict[key], imported.state_dict[key])]
    assert len(changed) == len(painter)
    assert index.networks["arbitrary_magenta"].family == "arbitrary"
    assert "arbitrary_magenta" not in available_styles() and "arbitrary_magenta" not in multi_style_networks()
    assert resolve("candy:0.5,udnie:0.5").network == "arbitrary"
    assert resolve("en_campo_gris").network == "arbitrary_magenta" and resolve("mondrian").network == "arbitrary"
    assert resolve("en_campo_gris@arbitrary").network == "arbitrary"
    # The card says what it is: no placeholder painting, the files averaged, how it joined the zoo.
    assert tuned.card.styles == () and tuned.card.style_image("mondrian") is None
    assert describe("mondrian")["style_image"].startswith("styles/mondrian.")
    assert len(tuned.config["averaged_from"]) == 12 and "arbitrary_magenta" in tuned.card.zoo.note


def test_the_painting_path_finds_the_arbitrary_network_through_the_registry():
    """``ARBITRARY_NETWORK`` is the registry's name of the network that folds any painting, not a file spelt out:
    ``load_arbitrary_network()`` and the web page's label read the file the registry gives it."""
    from fast_style.infer.app.library import PAINTING_NETWORK
    from fast_style.infer.stylize import ARBITRARY_NETWORK, load_arbitrary_network
    from fast_style.zoo.index import read_index

    entry = read_index(ZOO_DIR).networks[ARBITRARY_NETWORK]
    assert entry.family == "arbitrary" and zoo_path(ARBITRARY_NETWORK) == ZOO_DIR / entry.file
    assert entry.file in PAINTING_NETWORK
    from fast_style.checkpoint import model_from_checkpoint

    shipped = model_from_checkpoint(read_checkpoint(zoo_path(ARBITRARY_NETWORK))).state_dict()
    loaded = load_arbitrary_network().state_dict()
    assert loaded.keys() == shipped.keys() and all(torch.equal(loaded[key], shipped[key]) for key in shipped)
