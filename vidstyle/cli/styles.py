"""`vidstyle styles`: list installed styles, show where one comes from, import a TensorFlow network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidstyle.cli.app import handled, styles_app


@styles_app.callback()
def styles_list(ctx: typer.Context) -> None:
    """List installed styles: name, painting, artist, network file and size."""
    if ctx.invoked_subcommand:
        return
    from vidstyle.files import human_size
    from vidstyle.models.styles import installed_styles, user_dir

    styles = installed_styles()
    if not styles:
        typer.echo(f"No styles installed. Import one with `vidstyle styles import`; user styles live in {user_dir()}.")
        return
    table = Table("name", "painting", "artist", "file", "size", box=None)
    for name, info in sorted(styles.items()):
        size = human_size(info.path.stat().st_size) if info.path else ""
        table.add_row(name, info.painting, info.artist, str(info.path), size)
    Console().print(table)
    typer.echo(
        "Any painting: --style-image PAINTING (the arbitrary-style network; `vidstyle styles show "
        "arbitrary` says where it comes from)."
    )


@styles_app.command("show")
def styles_show(name: Annotated[str, typer.Argument(help="A style name or .vstyle file.")]) -> None:
    """Everything a style file says about itself: painting, licence, network size, and how it was trained."""
    with handled("interrupted."):
        from vidstyle.models.styles import describe_style

        facts = describe_style(name)
    for key, value in facts.items():
        typer.echo(f"{key + ':':16} {value}")


@styles_app.command("import")
def styles_import(
    folder: Annotated[
        Path,
        typer.Argument(
            help="A deeplearn.js export of a TensorFlow fast-style-transfer network: manifest.json and its "
            "Variable files."
        ),
    ],
    name: Annotated[str, typer.Option(help="Name to use with `render --style NAME`.")],
    painting: Annotated[str, typer.Option(help="Title of the painting the network was trained on.")] = "",
    artist: Annotated[str, typer.Option(help="The painter.")] = "",
    licence: Annotated[str, typer.Option(help="Licence of the network's weights.")] = "unknown",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the style here instead of the user style directory.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing style of that name.")] = False,
) -> None:
    """Convert a TensorFlow fast-style-transfer network into a vidstyle style."""
    with handled("interrupted; nothing was written."):
        from vidstyle.models.styles import StyleInfo, import_style

        info = StyleInfo(name=name, painting=painting, artist=artist, licence=licence)
        target = import_style(folder, info, output, overwrite)
    typer.echo(f"imported {name!r} -> {target}")
