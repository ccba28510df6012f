"""`guichet config show`: the effective settings and which file or variable each comes from."""

from __future__ import annotations

import click


@click.group()
def config() -> None:
    """The configuration in effect: settings, policy files, templates."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(as_json: bool) -> None:
    """Print where the configuration comes from: the config folder and each file in it
    (GUICHET_CONFIG_DIR, else the files shipped with guichet), the templates folder
    (GUICHET_TEMPLATES_DIR, else shipped), then every setting with its value and source."""
    from ingest.config_files import CONFIG_DIR_ENV, config_dir
    from ingest.setting_origins import data_files, folder_origin, setting_origins
    from ingest.settings import get_settings
    from workers.acks.render import TEMPLATES_DIR_ENV, templates_dir
    from workers.cli.output import print_json

    settings = get_settings()
    folders = {
        "config": (config_dir(), folder_origin(config_dir(), CONFIG_DIR_ENV)),
        "templates": (templates_dir(), folder_origin(templates_dir(), TEMPLATES_DIR_ENV)),
    }
    files = data_files()
    origins = setting_origins(settings)
    if as_json:
        print_json(
            {
                "folders": {k: {"path": str(p), "from": o} for k, (p, o) in folders.items()},
                "files": [{"name": n, "path": str(p), "present": ok} for n, p, ok in files],
                "settings": [o.__dict__ for o in origins],
            }
        )
        return
    for kind, (path, where) in folders.items():
        click.echo(f"{kind} folder: {path}  ({where})")
    for name, path, present in files:
        click.echo(f"  {name:<24} {path}" + ("" if present else "  (missing)"))
    click.echo("templates saved through /admin overlay the templates folder, file by file")
    click.echo("settings (environment, then settings.toml, then defaults):")
    width = max(len(o.name) for o in origins)
    for o in origins:
        click.echo(f"  {o.name:<{width}}  {o.value}  [{o.source}]")
