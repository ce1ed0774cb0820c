"""Root conftest: the harness's fixtures. The plugin (options, markers) loads through the
``chaos`` pytest11 entry point."""
pytest_plugins = ["fixtures.platform", "fixtures.scenario"]
