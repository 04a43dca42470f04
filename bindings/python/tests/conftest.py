import pytest

import relucl


@pytest.fixture(scope="session")
def ctx():
    with relucl.Context() as c:
        yield c
