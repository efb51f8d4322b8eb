"""A web page for stylising photos (Gradio): the served networks, the request handler, the page.

``library`` and ``handlers`` need only torch and Pillow; ``ui`` imports Gradio (the ``app`` extra).
"""
