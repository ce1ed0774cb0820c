"""Root conftest of this repository's own tests.

The harness's plugin (options, markers and the fixtures of ``kfchaos.pytest_fixtures``)
loads through the ``chaos`` pytest11 entry point of the installed package (``pip install
-e .``, done by scripts/setup.sh); a checkout that is not installed gets it from here.
"""
import sys

pytest_plugins = [] if "kfchaos.pytest_plugin" in sys.modules else ["kfchaos.pytest_plugin"]
