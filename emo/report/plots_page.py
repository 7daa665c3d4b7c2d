"""The page that `dvc plots show` fills (`.dvc/config`: plots.html_template): DVC's own page,
with Vega, Vega-Lite and Vega-Embed inlined instead of loaded from a CDN, so that the plots
render offline and the page loads nothing from the network.

The libraries come from vl-convert-python (the Vega project's own bundler, on PyPI);
Vega-Lite 5, the version of DVC's plot templates.
"""

from __future__ import annotations

VEGA_LITE = "5.21"

# DVC fills {refresh_tag} and {plot_divs} by plain replacement, so the script's braces are safe.
PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC plots</title>
    <script>{libraries}</script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def plots_page() -> str:
    import vl_convert

    libraries = vl_convert.javascript_bundle(vl_version=VEGA_LITE)
    if "</script" in libraries.lower():  # would end the inline script early
        raise ValueError("the Vega bundle holds '</script'; it cannot be inlined")
    return PAGE.replace("{libraries}", libraries)
