"""``python -m cnnsym``: the same as the ``cnnsym`` command."""


def run():
    """The process entry point: the collector off while the imports run and no interpreter
    teardown at exit (see ``cnnsym.cli._app.run_process``)."""
    import gc

    was_on = gc.isenabled()
    gc.disable()  # before every import below, not only sympy's; run_process turns it back on
    from .cli._app import run_process

    run_process(gc_was_on=was_on)


if __name__ == "__main__":
    run()
