"""Where each shipped style's painting comes from and whether it may be used: the ``--list-styles`` status column.

Transcribed from the asset mirror's README (``$FAST_STYLE_ASSETS/README.md``, table "styles/"), which
gives each file's work, status and source; the package keeps the work and the status (without the
README's parenthetical reasons) so that ``--list-styles`` can say them without the mirror. A painting
of the user's own (``experiment=new_style``) is not listed: its status is whatever the user knows of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Painting:
    """One style image.

    Attributes:
        work: artist and title, as the mirror's README gives them.
        status: the copyright status, in its words.
    """

    work: str
    status: str


UNRECORDED = "not recorded"

PAINTINGS: dict[str, Painting] = {
    "starry_night": Painting("Van Gogh, The Starry Night (1889)", "public domain"),
    "the_scream": Painting("Munch, The Scream (1893)", "public domain"),
    "wave": Painting("Hokusai, The Great Wave off Kanagawa", "public domain"),
    "composition_vii": Painting("Kandinsky, Composition VII (1913)", "public domain"),
    "udnie": Painting("Picabia, Udnie (1913)", "public domain in the US"),
    "candy": Painting("the classic pytorch/examples style", "origin not stated"),
    "mosaic": Painting("the classic pytorch/examples style", "origin not stated"),
    "feathers": Painting("the classic fast-neural-style style", "origin not stated"),
    "shipwreck": Painting("Turner, The Shipwreck (1805)", "public domain"),
    "contrast_of_forms": Painting("Léger, Contrast of Forms (1913)",
                                  "public domain where the term is the author's life + 70 years"),
    "en_campo_gris": Painting("Kandinsky, In the Grey Field (1923)", "public domain"),
    "mondrian": Painting("Mondrian, a plus-and-minus composition (c. 1913)", "public domain"),
    "the_resevoir_at_poitiers": Painting("The Reservoir at Poitiers (19th century)", "origin not stated"),
    "woman_in_peasant_dress": Painting("red-chalk figure study after Watteau (18th century)",
                                       "origin not stated; probably public domain"),
    "woman_with_hat_matisse": Painting("Matisse, Woman with a Hat (1905)",
                                       "public domain in the US and where life + 70 applies"),
    "brushstrokes": Painting("an abstract of long coloured brush strokes", "origin not stated"),
    "sketch": Painting("a pencil portrait sketch", "origin not stated"),
}


def painting_status(style: str | None) -> str:
    """The copyright status of ``style``'s painting, or ``"not recorded"`` for a painting the mirror does not list.

    A variant's name (``candy-small``, a network distilled from candy) has its style's painting.
    """
    name = style or ""
    painting = PAINTINGS.get(name) or PAINTINGS.get(name.split("-", 1)[0])
    return painting.status if painting else UNRECORDED


__all__ = ["PAINTINGS", "Painting", "UNRECORDED", "painting_status"]
