"""The `yunzhang` command line (Typer)."""
