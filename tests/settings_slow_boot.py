"""The test settings, imported slowly: a web worker is still booting for a few seconds.

For the test that stops ``keel web`` while its workers load the application.
"""

import time

from tests.settings import *  # noqa: F403

time.sleep(3.0)
